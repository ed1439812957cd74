//! A component that is not a reddalert rule (another package's world): the host must refuse
//! it as incompatible before instantiating it.

wit_bindgen::generate!({ world: "plugin", path: "wit" });

struct Other;

impl exports::other::plugin::run::Guest for Other {
    fn run(input: String) -> String {
        input
    }
}

export!(Other);
