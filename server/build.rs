// The release binary embeds ../dist (the Trunk build of the app). Rebuild when it changes,
// otherwise a server built before `trunk build` would keep serving a stale (or missing) app.
fn main() {
    println!("cargo:rerun-if-changed=../dist");
    println!("cargo:rerun-if-changed=../dist/index.html");
}
