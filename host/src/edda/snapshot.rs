//! Snapshot directories: one file per query holding what EDDA answered, so the demo account
//! and rule authors can run without an EDDA server. The window is not applied to snapshots:
//! a file is what EDDA returned for that query, whatever the window was.

use std::path::{Path, PathBuf};

/// The file name of a query's snapshot: the query path with `/` written as `.`, plus `.json`
/// (`aws/securityGroups;_expand` → `aws.securityGroups;_expand.json`).
pub fn file_name(query_path: &str) -> String {
    format!("{}.json", query_path.replace('/', "."))
}

pub fn file_path(dir: &Path, query_path: &str) -> PathBuf {
    dir.join(file_name(query_path))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_files_after_the_query() {
        assert_eq!(super::file_name("aws/securityGroups;_expand"), "aws.securityGroups;_expand.json");
        assert_eq!(super::file_name("aws/iamUsers/alice;_diff=200"), "aws.iamUsers.alice;_diff=200.json");
    }
}
