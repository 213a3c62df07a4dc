fn main() {
    std::process::exit(ocirun::cli::main());
}
