//! `profview export FILE --format html`: one self-contained HTML file that opens from disk with
//! no server and no network.
//!
//! It holds the very app the server serves (the embedded Trunk `dist/`): the stylesheet as a
//! `<style>`, d3 as a classic inline script, the wasm-bindgen glue (with its JS snippets folded
//! in) as one inline module script, the WASM gzipped and base64'd in a data block (gunzipped by
//! the browser's `DecompressionStream`, instantiated from bytes), and the profile file, gzipped
//! and base64'd, in `<script type="application/octet-stream" id="profview-profile">`. The app
//! sees that element and answers every request in the browser (`app/src/report.rs`).
//!
//! The page's `Content-Security-Policy` (a meta tag) allows no network at all: scripts only by
//! the SHA-256 of each inline script (computed here) plus WebAssembly compilation; styles inline;
//! images from `data:`; `connect-src 'none'`. Names stay data: they only reach the page as the
//! base64 profile and as escaped text (`data-name`, `<title>`).

use std::io::Write as _;

use base64::Engine as _;

use crate::assets::{dist_file, sha256_base64};

/// Id of the data block holding the profile (read by `app/src/report.rs`).
pub const PROFILE_ELEMENT_ID: &str = "profview-profile";
/// Id of the data block holding the gzipped WASM.
pub const WASM_ELEMENT_ID: &str = "profview-wasm";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).map_err(|e| e.to_string())?;
    enc.finish().map_err(|e| e.to_string())
}

/// Escapes text for an HTML text node or a double-quoted attribute.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Makes JavaScript safe inside `<script>…</script>`: `</script` and `<!--` cannot end or
/// confuse the element (`<\/` and `<\!` mean the same inside JS strings, regexes and comments).
fn script_safe(js: &str) -> String {
    js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT").replace("<!--", "<\\!--")
}

fn dist_text(path: &str) -> Result<String, String> {
    let bytes = dist_file(path).ok_or_else(|| format!("the embedded web app has no {path}"))?;
    String::from_utf8(bytes).map_err(|_| format!("the embedded web app's {path} is not UTF-8"))
}

/// The first capture of `re` in `hay`.
fn capture(hay: &str, re: &str, what: &str) -> Result<String, String> {
    regex::Regex::new(re)
        .map_err(|e| e.to_string())?
        .captures(hay)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned())
        .ok_or_else(|| format!("the embedded index.html has no {what}"))
}

/// Folds the glue's `import { a, b as c } from './snippets/…';` lines into the module: each
/// snippet becomes a closure returning the names imported from it (no name clashes).
fn inline_snippets(glue: &str) -> Result<String, String> {
    let re = regex::Regex::new(r#"(?m)^import \{([^}]*)\} from '\./(snippets/[^']+)';[ \t]*$"#).map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(glue.len());
    let mut last = 0;
    for c in re.captures_iter(glue) {
        let (Some(all), Some(names), Some(path)) = (c.get(0), c.get(1), c.get(2)) else { continue };
        out.push_str(&glue[last..all.start()]);
        last = all.end();
        let snippet = dist_text(path.as_str())?;
        if snippet.lines().any(|l| l.starts_with("import ") || l.starts_with("export default") || l.starts_with("export {")) {
            return Err(format!("{}: a snippet with imports or export lists cannot be inlined", path.as_str()));
        }
        let body: String = snippet
            .lines()
            .map(|l| l.strip_prefix("export ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let mut pattern = Vec::new();
        let mut exported = Vec::new();
        for n in names.as_str().split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match n.split_once(" as ") {
                Some((a, b)) => {
                    pattern.push(format!("{}: {}", a.trim(), b.trim()));
                    exported.push(a.trim().to_owned());
                }
                None => {
                    pattern.push(n.to_owned());
                    exported.push(n.to_owned());
                }
            }
        }
        out.push_str(&format!(
            "const {{ {} }} = (() => {{\n{}\nreturn {{ {} }};\n}})();",
            pattern.join(", "),
            body,
            exported.join(", ")
        ));
    }
    out.push_str(&glue[last..]);
    if out.contains("from './") || out.contains("from \"./") {
        return Err("the wasm-bindgen glue imports a module that cannot be inlined".into());
    }
    Ok(out)
}

/// The Content-Security-Policy of a report whose inline scripts are `scripts`.
pub fn report_csp(scripts: &[&str]) -> String {
    let hashes: String = scripts.iter().map(|s| format!(" 'sha256-{}'", sha256_base64(s))).collect();
    format!(
        "default-src 'none'; script-src 'wasm-unsafe-eval'{hashes}; style-src 'unsafe-inline'; img-src data:; \
         connect-src 'none'; font-src 'none'; media-src 'none'; object-src 'none'; worker-src 'none'; \
         frame-src 'none'; manifest-src 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// Builds the report of the profile file `file_bytes` (as read, maybe gzipped) named `name`.
pub fn build(file_bytes: &[u8], name: &str) -> Result<Vec<u8>, String> {
    let index = dist_text("index.html")
        .map_err(|_| "profview was built without its web app: run ./scripts/build.sh first".to_owned())?;
    let css_path = capture(&index, r#"<link rel="stylesheet" href="/([^"]+\.css)""#, "stylesheet")?;
    let d3_path = capture(&index, r#"<script src="/(d3[^"]*\.js)""#, "d3 script")?;
    let glue_path = capture(&index, r#"import init, \* as bindings from '/([^']+\.js)'"#, "wasm-bindgen glue")?;
    let wasm_path = capture(&index, r#"module_or_path: '/([^']+\.wasm)'"#, "WASM file")?;
    let init_name = {
        let glue = dist_text(&glue_path)?;
        capture(&glue, r"export \{[^}]*\b([A-Za-z_$][\w$]*) as default\b", "default init export").or_else(|_| {
            if glue.contains("__wbg_init") { Ok("__wbg_init".to_owned()) } else { Err("no init function in the glue".to_owned()) }
        })?
    };
    let css = dist_text(&css_path)?;
    let d3 = script_safe(&dist_text(&d3_path)?);
    let glue = inline_snippets(&dist_text(&glue_path)?)?;
    let wasm = dist_file(&wasm_path).ok_or_else(|| format!("the embedded web app has no {wasm_path}"))?;
    if !wasm.starts_with(b"\0asm") {
        return Err(format!("the embedded web app's {wasm_path} is not WebAssembly (a damaged build): rebuild with ./scripts/build.sh"));
    }
    let wasm_gz = gzip(&wasm)?;
    let module = script_safe(&format!(
        "{glue}\n\
         // profview report bootstrap: the WASM is inlined (gzip, base64); nothing is fetched.\n\
         {{\n\
         const b = atob(document.getElementById('{WASM_ELEMENT_ID}').textContent.trim());\n\
         const gz = new Uint8Array(b.length);\n\
         for (let i = 0; i < b.length; i++) gz[i] = b.charCodeAt(i);\n\
         const bytes = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();\n\
         performance.mark('profview-wasm-bytes');\n\
         await {init_name}({{ module_or_path: bytes }});\n\
         performance.mark('profview-started');\n\
         }}\n"
    ));
    let profile_gz = if profview_import::is_gzip(file_bytes) { file_bytes.to_vec() } else { gzip(file_bytes)? };
    let favicon = dist_file("favicon.svg").map(|f| format!("<link rel=\"icon\" href=\"data:image/svg+xml;base64,{}\">", b64(&f)));
    let csp = report_csp(&[d3.as_str(), module.as_str()]);
    let title = escape_html(name);
    let mut html = String::with_capacity(css.len() + d3.len() + module.len() + wasm_gz.len() * 4 / 3 + profile_gz.len() * 4 / 3 + 4096);
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str(&format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"));
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n<meta name=\"referrer\" content=\"no-referrer\">\n");
    html.push_str(&format!("<meta name=\"generator\" content=\"profview {}\">\n", env!("CARGO_PKG_VERSION")));
    html.push_str(&format!("<title>{title} — profview report</title>\n"));
    html.push_str(&favicon.unwrap_or_default());
    html.push_str(&format!("\n<style>\n{}\n</style>\n", css.replace("</style", "<\\/style")));
    html.push_str(&format!("<script>{d3}</script>\n"));
    html.push_str(&format!("<script type=\"module\">{module}</script>\n"));
    html.push_str("</head>\n<body>\n");
    html.push_str(&format!(
        "<script type=\"application/octet-stream\" id=\"{PROFILE_ELEMENT_ID}\" data-name=\"{title}\">{}</script>\n",
        b64(&profile_gz)
    ));
    html.push_str(&format!(
        "<script type=\"application/gzip\" id=\"{WASM_ELEMENT_ID}\">{}</script>\n",
        b64(&wasm_gz)
    ));
    html.push_str("</body>\n</html>\n");
    Ok(html.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape_html("<script>alert('x')</script>&\""), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
        assert_eq!(script_safe("a='</script><!--'"), "a='<\\/script><\\!--'");
    }

    #[test]
    fn snippets_become_closures() {
        let glue = "import { a, b as c } from './snippets/x/js/none.js';\nconst z = 1;\n";
        // The snippet file does not exist in the test build: the error names it.
        let e = inline_snippets(glue).err().unwrap_or_default();
        assert!(e.contains("snippets/x/js/none.js"), "{e}");
    }
}
