//! Embeds the migrations and the checklist files: tell cargo to rebuild when
//! either folder changes, and generate the list of embedded checklists.
//!
//! Also sets `cfg(bayige_pg)` when `BAYIGE_TEST_DATABASE_URL` is set, so
//! that the PostgreSQL tests run then and are reported as ignored (not as
//! passed) otherwise.
use std::{env, fs, path::Path};

fn main() {
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rerun-if-changed=checklists");
    println!("cargo::rerun-if-env-changed=BAYIGE_TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(bayige_pg)");
    if env::var_os("BAYIGE_TEST_DATABASE_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=bayige_pg");
    }
    let mut files: Vec<_> = fs::read_dir("checklists")
        .expect("checklists/ must exist")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// (file name, contents) of every checklist in checklists/.\npub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let abs = fs::canonicalize(f).expect("canonical path");
        let name = f.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("checklists.rs");
    fs::write(dest, out).expect("write checklists.rs");
}
