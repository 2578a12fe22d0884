//! `sqlx::migrate!` embeds the migrations at compile time; without this hint
//! a new migration file alone would not trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
