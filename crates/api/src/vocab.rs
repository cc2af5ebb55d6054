//! The closed vocabularies of the API: package classes, sort columns and orders, tree modes and
//! chart kinds. Each is one enum that serializes to the strings the API has always used, so the
//! server's query structs, the index, the app and the charts' colours share one list: a new value
//! is added here and nowhere else.

#[cfg(test)]
use std::fmt;
use std::str::FromStr;

use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
#[cfg(test)]
use serde::Serialize;

/// Declares a string enum: its wire names (and accepted aliases), `ALL`, `as_str`, `parse`,
/// `Display`, `FromStr` and serde as the wire name.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $var:ident = $wire:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $var ),+
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The name used on the wire, in URLs and in `data-*` attributes.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$var => $wire),+
                }
            }

            /// Parses the wire name or one of its accepted aliases.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($wire $(| $alias)* => Some($name::$var),)+
                    _ => None,
                }
            }

            /// The message for a value that is none of these: names every accepted value.
            pub fn unknown(s: &str) -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("{} must be one of {}, not {:?}", $what, names.join(", "), s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| $name::unknown(s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

wire_enum! {
    /// Where a function's code comes from (the `package` of rows, edges and nodes, the `package=`
    /// filter, `grp:pkg`, and the colour family of every chart). Computed by the index
    /// (`profview_index::classify`) and nowhere else.
    pub enum Package ("package") {
        /// The program's own code (anything not recognised as one of the others).
        User = "user",
        /// The Python standard library.
        Stdlib = "stdlib",
        /// Third-party code installed in `site-packages` / `dist-packages`.
        SitePackages = "site-packages" | "site_packages" | "sitepackages",
        /// Python's built-ins: cProfile's `~` file, `<built-in ...>` / `{method ...}` names.
        Builtin = "builtin",
        /// Machine code outside the interpreter: shared objects, kernel frames, raw addresses.
        Native = "native",
    }
}

wire_enum! {
    /// The unit of the function table and of every view (`by=`): a profile whose frames carry the
    /// line they were executing (py-spy, austin) has one function per (name, file) by default,
    /// or one per line seen with `by=line`. Other profiles are the same either way.
    pub enum By ("by") {
        /// One row per function (name and file); its line is the lowest seen.
        Function = "function",
        /// One row per (name, file, line), as the producer wrote the frames.
        Line = "line",
    }
}

wire_enum! {
    /// A sortable column of the function table (`sort=`).
    pub enum SortKey ("sort column") {
        /// Function name.
        Name = "name",
        /// File name.
        File = "file",
        /// Line.
        Line = "line",
        /// pstats `nc`.
        Ncalls = "ncalls",
        /// pstats `cc`.
        Primcalls = "primcalls",
        /// pstats `tt`.
        Tottime = "tottime" | "self_time",
        /// pstats `ct`.
        Cumtime = "cumtime" | "cumulative",
        /// `tt / nc`.
        PercallTottime = "percall_tottime" | "percall",
        /// `ct / cc`.
        PercallCumtime = "percall_cumtime",
        /// Sampled self weight.
        SelfWeight = "self" | "self_weight",
        /// Sampled total weight.
        TotalWeight = "total" | "total_weight" | "samples",
    }
}

impl SortKey {
    /// Text columns sort ascending by default, numbers descending (largest first).
    pub fn default_order(self) -> SortOrder {
        match self {
            SortKey::Name | SortKey::File | SortKey::Line => SortOrder::Asc,
            _ => SortOrder::Desc,
        }
    }
}

wire_enum! {
    /// Sort direction (`order=`).
    pub enum SortOrder ("order") {
        /// Smallest first.
        Asc = "asc",
        /// Largest first.
        Desc = "desc",
    }
}

impl SortOrder {
    /// The other direction.
    pub fn flipped(self) -> SortOrder {
        match self {
            SortOrder::Asc => SortOrder::Desc,
            SortOrder::Desc => SortOrder::Asc,
        }
    }
}

wire_enum! {
    /// Tree orientation (`mode=` of the tree routes, `mode` of a slice).
    #[derive(Default)]
    pub enum TreeMode ("mode") {
        /// Callers above callees (icicle / flame graph).
        #[default]
        TopDown = "top-down" | "topdown" | "top_down",
        /// Leaves (own cost) at the top, their callers below.
        Inverted = "inverted" | "bottom-up" | "bottomup",
    }
}

wire_enum! {
    /// The chart views of a profile, by the name used in `view=`, `data-testid="view-<name>"` and
    /// by the d3 glue.
    pub enum ChartKind ("view") {
        /// Top-down tree, root on top.
        Icicle = "icicle",
        /// Inverted tree, root at the bottom.
        Flame = "flame",
        /// plop's force-laid call graph.
        BubbleGraph = "bubble-graph",
        /// Circle packing of the call tree.
        CirclePack = "circle-pack",
        /// RunSnakeRun's squaremap of the call tree.
        Squaremap = "squaremap",
        /// The diff flame graph of two sides (root at the bottom), on the compare page.
        DiffFlame = "diff-flame",
        /// The diff icicle of two sides (root on top), on the compare page.
        DiffIcicle = "diff-icicle",
    }
}

impl ChartKind {
    /// The label of the view's tab.
    pub fn label(self) -> &'static str {
        match self {
            ChartKind::Icicle => "Icicle",
            ChartKind::Flame => "Flame (inverted)",
            ChartKind::BubbleGraph => "Bubble graph",
            ChartKind::CirclePack => "Circle packing",
            ChartKind::Squaremap => "Squaremap",
            ChartKind::DiffFlame => "Diff flame graph",
            ChartKind::DiffIcicle => "Diff icicle",
        }
    }

    /// The views of one profile's dashboard, in tab order.
    pub const PROFILE: &'static [ChartKind] =
        &[ChartKind::Icicle, ChartKind::Flame, ChartKind::BubbleGraph, ChartKind::CirclePack, ChartKind::Squaremap];

    /// The views of the compare page.
    pub const COMPARE: &'static [ChartKind] = &[ChartKind::DiffFlame, ChartKind::DiffIcicle];
}

/// For an optional query parameter: absent or empty (`sort=`) is `None`, anything else must parse.
/// Use as `#[serde(default, deserialize_with = "profview_api::empty_as_none")]`.
pub fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(D::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(all: &[T])
    where
        T: Copy + PartialEq + fmt::Debug + Serialize + for<'de> Deserialize<'de> + FromStr<Err = String> + fmt::Display,
    {
        for &v in all {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{v}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
            assert_eq!(v.to_string().parse::<T>(), Ok(v));
        }
    }

    #[test]
    fn every_value_round_trips_through_its_wire_name() {
        round_trip(Package::ALL);
        round_trip(SortKey::ALL);
        round_trip(SortOrder::ALL);
        round_trip(TreeMode::ALL);
        round_trip(ChartKind::ALL);
    }

    #[test]
    fn wire_names_are_the_api_strings() {
        let names = |v: Vec<&'static str>| v.join(",");
        assert_eq!(names(Package::ALL.iter().map(|p| p.as_str()).collect()), "user,stdlib,site-packages,builtin,native");
        assert_eq!(
            names(SortKey::ALL.iter().map(|p| p.as_str()).collect()),
            "name,file,line,ncalls,primcalls,tottime,cumtime,percall_tottime,percall_cumtime,self,total"
        );
        assert_eq!(names(TreeMode::ALL.iter().map(|p| p.as_str()).collect()), "top-down,inverted");
        assert_eq!(
            names(ChartKind::ALL.iter().map(|p| p.as_str()).collect()),
            "icicle,flame,bubble-graph,circle-pack,squaremap,diff-flame,diff-icicle"
        );
    }

    #[test]
    fn aliases_parse_and_unknown_values_name_the_choices() {
        assert_eq!(SortKey::parse("samples"), Some(SortKey::TotalWeight));
        assert_eq!(Package::parse("site_packages"), Some(Package::SitePackages));
        assert_eq!(TreeMode::parse("bottom-up"), Some(TreeMode::Inverted));
        let e = "nope".parse::<SortOrder>().unwrap_err();
        assert_eq!(e, "order must be one of asc, desc, not \"nope\"");
        assert!(serde_json::from_str::<Package>("\"kernel\"").unwrap_err().to_string().contains("user, stdlib"));
    }

    #[test]
    fn defaults_and_flips() {
        assert_eq!(SortKey::Name.default_order(), SortOrder::Asc);
        assert_eq!(SortKey::Cumtime.default_order(), SortOrder::Desc);
        assert_eq!(SortOrder::Asc.flipped(), SortOrder::Desc);
        assert_eq!(SortOrder::Desc.flipped(), SortOrder::Asc);
        assert_eq!(TreeMode::default(), TreeMode::TopDown);
    }

    #[derive(Deserialize)]
    struct Params {
        #[serde(default, deserialize_with = "empty_as_none")]
        sort: Option<SortKey>,
    }

    #[test]
    fn empty_query_values_are_absent() {
        let p: Params = serde_json::from_str(r#"{"sort": ""}"#).unwrap();
        assert_eq!(p.sort, None);
        let p: Params = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(p.sort, None);
        let p: Params = serde_json::from_str(r#"{"sort": "cumtime"}"#).unwrap();
        assert_eq!(p.sort, Some(SortKey::Cumtime));
        assert!(serde_json::from_str::<Params>(r#"{"sort": "x"}"#).is_err());
    }
}
