//! `fill-store SOCKET COUNT`: writes COUNT benchmark users and handsets into a running MOM
//! through its store socket (as root or an admin uid). The system test (`scripts/test-system
//! --boot`) uses it to time a start with 50,000 users.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(socket), Some(count)) = (args.get(1), args.get(2).and_then(|c| c.parse().ok()))
    else {
        eprintln!("usage: fill-store SOCKET COUNT");
        std::process::exit(2);
    };
    mom_tests::bench::fill_store(std::path::Path::new(socket), count);
    println!("wrote {count} users and {count} handsets");
}
