//! Opens a local node (transport = none: no network), writes and reads one
//! entry through the safe binding.
use mccache::{Config, Node, Ttl};

fn main() -> mccache::Result<()> {
    let mut config = Config::new()?;
    config.set("transport", "none")?;
    let node = Node::open(&config)?;
    let users = node.cache("users")?;
    users.put("alice", "admin", Ttl::Default)?;
    let value = users.get("alice")?.expect("just written");
    println!(
        "rust: users[alice] = {} ({} entry)",
        String::from_utf8_lossy(&value),
        users.len()?
    );
    Ok(())
}
