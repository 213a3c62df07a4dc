//! /etc/passwd lookups, read directly: the container's file is not the host's NSS, and
//! a statically linked runtime should not load NSS modules for the host's either.

/// The name and home directory of `uid` in the passwd file at `path`.
pub fn lookup(path: &str, uid: u32) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    find(&text, uid)
}

fn find(text: &str, uid: u32) -> Option<(String, String)> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[2].parse() == Ok(uid))
            .then(|| (fields[0].to_string(), fields[5].to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_name_and_home_by_uid() {
        let text = "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n";
        assert_eq!(find(text, 1000), Some(("bob".into(), "/home/bob".into())));
        assert_eq!(find(text, 7), None);
    }
}
