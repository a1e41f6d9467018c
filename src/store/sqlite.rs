//! The SQLite store: one file, WAL mode, one transaction per [`Store`] call.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::{
    BlobKey, Error, MergeCounts, RepoRecord, RepoStatus, RepoUpdate, Run, RunCounts, ScannedBlob,
    Store, StoredFinding, StoredMatch,
};
use crate::{finding::CommitMeta, timestamp::unix_now, verify::Verification};

/// The schema this version writes.
pub const SCHEMA: u32 = 1;

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, shard TEXT NOT NULL,
    started TEXT NOT NULL, finished TEXT, counts TEXT);
CREATE TABLE IF NOT EXISTS repos (
    name TEXT PRIMARY KEY, url TEXT NOT NULL, tips TEXT NOT NULL DEFAULT '[]',
    rules TEXT NOT NULL DEFAULT '', run INTEGER NOT NULL DEFAULT 0, scanned_at TEXT,
    has_head INTEGER NOT NULL DEFAULT 0, commits INTEGER NOT NULL DEFAULT 0, error TEXT);
CREATE TABLE IF NOT EXISTS blobs (
    oid TEXT NOT NULL, scope TEXT NOT NULL, rules TEXT NOT NULL,
    PRIMARY KEY (oid, scope, rules)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS matches (
    oid TEXT NOT NULL, scope TEXT NOT NULL, rules TEXT NOT NULL, rule_id TEXT NOT NULL,
    line INTEGER NOT NULL, col INTEGER NOT NULL, secret_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (oid, scope, rules, rule_id, line, col, secret_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS matches_by_oid ON matches (oid);
CREATE TABLE IF NOT EXISTS locations (
    repo TEXT NOT NULL, oid TEXT NOT NULL, scope TEXT NOT NULL, rule_id TEXT NOT NULL,
    line INTEGER NOT NULL, col INTEGER NOT NULL, secret_id TEXT NOT NULL, path TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    PRIMARY KEY (repo, oid, scope, rule_id, line, col, secret_id, path, commit_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commits (
    id TEXT PRIMARY KEY, author TEXT NOT NULL, email TEXT NOT NULL, date TEXT NOT NULL,
    summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS head_secrets (
    repo TEXT NOT NULL, secret_id TEXT NOT NULL, PRIMARY KEY (repo, secret_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verifications (
    secret_id TEXT PRIMARY KEY, checked INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
";

/// A store in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    path: String,
    rules: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn now() -> String {
    crate::timestamp::utc(unix_now())
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`; blobs are keyed under `rules` (see
    /// [`crate::rules::RuleSet::digest`]).
    pub fn open(path: &Path, rules: &str) -> Result<SqliteStore, Error> {
        let shown = path.display().to_string();
        let sql = |source| Error::Sql {
            path: shown.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(60))
            .map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        let store = SqliteStore {
            conn,
            path: shown.clone(),
            rules: rules.to_owned(),
        };
        store.init()?;
        Ok(store)
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        |source| Error::Sql {
            path: self.path.clone(),
            source,
        }
    }

    fn init(&self) -> Result<(), Error> {
        let is_store_or_empty: bool = self
            .conn
            .query_row(
                "SELECT count(*) = 0 OR EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'meta') \
                 FROM sqlite_master",
                [],
                |r| r.get(0),
            )
            .map_err(self.sql())?;
        if !is_store_or_empty {
            return Err(Error::Schema {
                path: self.path.clone(),
                expected: SCHEMA,
                found: "other tables".into(),
            });
        }
        self.conn.execute_batch(CREATE).map_err(self.sql())?;
        let found: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.sql())?;
        match found {
            None => {
                self.conn
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ('schema', ?1)",
                        [SCHEMA.to_string()],
                    )
                    .map_err(self.sql())?;
            }
            Some(v) if v == SCHEMA.to_string() => {}
            Some(v) => {
                return Err(Error::Schema {
                    path: self.path.clone(),
                    expected: SCHEMA,
                    found: v,
                });
            }
        }
        Ok(())
    }
}

fn body(m: &StoredMatch) -> String {
    serde_json::to_string(m).unwrap_or_default()
}

fn parse_body(s: &str) -> Option<StoredMatch> {
    serde_json::from_str(s).ok()
}

impl Store for SqliteStore {
    fn begin_run(&mut self, source: &str, shard: &str) -> Result<Run, Error> {
        let open: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM runs WHERE source = ?1 AND shard = ?2 AND finished IS NULL \
                 ORDER BY id DESC LIMIT 1",
                params![source, shard],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())?;
        if let Some(id) = open {
            return Ok(Run { id, resumed: true });
        }
        self.conn
            .execute(
                "INSERT INTO runs (source, shard, started) VALUES (?1, ?2, ?3)",
                params![source, shard, now()],
            )
            .map_err(self.sql())?;
        Ok(Run {
            id: self.conn.last_insert_rowid(),
            resumed: false,
        })
    }

    fn completed_in(&mut self, run: i64, repo: &str) -> Result<bool, Error> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM repos WHERE name = ?1 AND run = ?2)",
                params![repo, run],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    fn repo(&mut self, name: &str) -> Result<Option<RepoRecord>, Error> {
        self.conn
            .query_row(
                "SELECT tips, rules, run, error FROM repos WHERE name = ?1",
                [name],
                |r| {
                    let tips: String = r.get(0)?;
                    Ok(RepoRecord {
                        tips: serde_json::from_str(&tips).unwrap_or_default(),
                        rules: r.get(1)?,
                        run: r.get(2)?,
                        error: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(self.sql())
    }

    fn blob(&mut self, key: &BlobKey) -> Result<Option<Vec<StoredMatch>>, Error> {
        // One query: no row means not scanned; a row without a body, scanned and clean.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT m.body FROM blobs b LEFT JOIN matches m \
                 ON m.oid = b.oid AND m.scope = b.scope AND m.rules = b.rules \
                 WHERE b.oid = ?1 AND b.scope = ?2 AND b.rules = ?3 \
                 ORDER BY m.line, m.col, m.rule_id",
            )
            .map_err(self.sql())?;
        let bodies = stmt
            .query_map(params![key.oid, key.scope, self.rules], |r| {
                r.get::<_, Option<String>>(0)
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|source| Error::Sql {
                path: self.path.clone(),
                source,
            })?;
        if bodies.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            bodies
                .iter()
                .flatten()
                .filter_map(|b| parse_body(b))
                .collect(),
        ))
    }

    fn located_secrets(&mut self, repo: &str) -> Result<Vec<(String, String)>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT oid, secret_id FROM locations WHERE repo = ?1")
            .map_err(self.sql())?;
        stmt.query_map([repo], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|source| Error::Sql {
                path: self.path.clone(),
                source,
            })
    }

    fn record_blobs(&mut self, blobs: &[ScannedBlob]) -> Result<u64, Error> {
        let path = self.path.clone();
        let sql = |source| Error::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let mut added = 0;
        {
            let mut blob = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO blobs (oid, scope, rules) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql)?;
            let mut matched = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO matches (oid, scope, rules, rule_id, line, col, \
                     secret_id, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(sql)?;
            for b in blobs {
                added += blob
                    .execute(params![b.key.oid, b.key.scope, self.rules])
                    .map_err(sql)? as u64;
                for m in &b.matches {
                    matched
                        .execute(params![
                            b.key.oid,
                            b.key.scope,
                            self.rules,
                            m.rule_id,
                            m.line as i64,
                            m.column as i64,
                            m.secret_id,
                            body(m)
                        ])
                        .map_err(sql)?;
                }
            }
        }
        tx.commit().map_err(sql)?;
        Ok(added)
    }

    fn record_repo(&mut self, run: i64, u: &RepoUpdate) -> Result<(), Error> {
        let path = self.path.clone();
        let sql = |source| Error::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        if let Some(error) = &u.error {
            // A failed repository keeps what its last successful scan recorded.
            tx.execute(
                "INSERT INTO repos (name, url, run, error) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO UPDATE SET url = ?2, run = ?3, error = ?4",
                params![u.name, u.url, run, error],
            )
            .map_err(sql)?;
            return tx.commit().map_err(sql);
        }
        {
            let mut location = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO locations (repo, oid, scope, rule_id, line, col, \
                     secret_id, path, commit_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(sql)?;
            let mut commit = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO commits (id, author, email, date, summary) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            for l in &u.locations {
                let commit_id = l.commit.as_ref().map(|c| c.id.as_str()).unwrap_or("");
                location
                    .execute(params![
                        u.name,
                        l.key.oid,
                        l.key.scope,
                        l.matched.rule_id,
                        l.matched.line as i64,
                        l.matched.column as i64,
                        l.matched.secret_id,
                        l.path,
                        commit_id
                    ])
                    .map_err(sql)?;
                if let Some(c) = &l.commit {
                    commit
                        .execute(params![c.id, c.author, c.email, c.date, c.summary])
                        .map_err(sql)?;
                }
            }
        }
        if let Some(head) = &u.head_secrets {
            tx.execute("DELETE FROM head_secrets WHERE repo = ?1", [&u.name])
                .map_err(sql)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO head_secrets (repo, secret_id) VALUES (?1, ?2)",
                )
                .map_err(sql)?;
            for s in head {
                insert.execute(params![u.name, s]).map_err(sql)?;
            }
        }
        let tips = serde_json::to_string(&u.tips).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO repos (name, url, tips, rules, run, scanned_at, has_head, commits, error) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL) \
             ON CONFLICT (name) DO UPDATE SET url = ?2, tips = ?3, rules = ?4, run = ?5, \
             scanned_at = ?6, has_head = ?7, commits = commits + ?8, error = NULL",
            params![
                u.name,
                u.url,
                tips,
                self.rules,
                run,
                now(),
                u.head_secrets.is_some(),
                u.commits as i64
            ],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    fn finish_run(&mut self, run: i64, counts: &RunCounts) -> Result<(), Error> {
        let counts = serde_json::to_string(counts).unwrap_or_default();
        self.conn
            .execute(
                "UPDATE runs SET finished = ?2, counts = ?3 WHERE id = ?1",
                params![run, now(), counts],
            )
            .map(|_| ())
            .map_err(self.sql())
    }

    fn last_run(&mut self) -> Result<Option<RunCounts>, Error> {
        let counts: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT counts FROM runs WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())?;
        Ok(counts.flatten().and_then(|c| serde_json::from_str(&c).ok()))
    }

    fn findings(&mut self) -> Result<Vec<StoredFinding>, Error> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT l.repo, l.path, l.oid, l.commit_id, c.author, c.email, c.date, c.summary, \
                        r.has_head, (h.secret_id IS NOT NULL), m.body \
                 FROM locations l \
                 JOIN repos r ON r.name = l.repo \
                 JOIN matches m ON m.oid = l.oid AND m.scope = l.scope AND m.rules = r.rules \
                      AND m.rule_id = l.rule_id AND m.line = l.line AND m.col = l.col \
                      AND m.secret_id = l.secret_id \
                 LEFT JOIN commits c ON c.id = l.commit_id \
                 LEFT JOIN head_secrets h ON h.repo = l.repo AND h.secret_id = l.secret_id \
                 ORDER BY l.repo, l.path, l.line, l.col, l.rule_id, l.commit_id",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                let commit_id: String = r.get(3)?;
                let author: Option<String> = r.get(4)?;
                let commit = (!commit_id.is_empty()).then(|| CommitMeta {
                    id: commit_id.clone(),
                    author: author.unwrap_or_default(),
                    email: r
                        .get::<_, Option<String>>(5)
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                    date: r
                        .get::<_, Option<String>>(6)
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                    summary: r
                        .get::<_, Option<String>>(7)
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                });
                let has_head: bool = r.get(8)?;
                let in_head: bool = r.get(9)?;
                let body: String = r.get(10)?;
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    commit,
                    has_head.then_some(in_head),
                    body,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|source| Error::Sql {
                path: self.path.clone(),
                source,
            })?;
        Ok(rows
            .into_iter()
            .filter_map(|(repo, path, blob, commit, in_head, body)| {
                Some(StoredFinding {
                    repo,
                    path,
                    blob,
                    commit,
                    in_head,
                    matched: parse_body(&body)?,
                })
            })
            .collect())
    }

    fn repos(&mut self) -> Result<Vec<RepoStatus>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, url, scanned_at, error FROM repos ORDER BY name")
            .map_err(self.sql())?;
        stmt.query_map([], |r| {
            Ok(RepoStatus {
                name: r.get(0)?,
                url: r.get(1)?,
                scanned_at: r.get(2)?,
                error: r.get(3)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|source| Error::Sql {
            path: self.path.clone(),
            source,
        })
    }

    fn verification(
        &mut self,
        secret_id: &str,
        max_age: std::time::Duration,
    ) -> Result<Option<Verification>, Error> {
        let oldest = unix_now().saturating_sub(max_age.as_secs());
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM verifications WHERE secret_id = ?1 AND checked >= ?2",
                params![secret_id, oldest as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    fn record_verification(&mut self, secret_id: &str, v: &Verification) -> Result<(), Error> {
        let body = serde_json::to_string(v).unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO verifications (secret_id, checked, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (secret_id) DO UPDATE SET checked = excluded.checked, body = excluded.body",
                params![secret_id, unix_now() as i64, body],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    fn verifications(&mut self) -> Result<Vec<(String, Verification)>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT secret_id, body FROM verifications")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(self.sql())?;
            if let Ok(v) = serde_json::from_str(&body) {
                out.push((id, v));
            }
        }
        Ok(out)
    }

    fn merge_from(&mut self, other: &Path) -> Result<MergeCounts, Error> {
        // Opening it first checks that it is a store of this schema.
        drop(SqliteStore::open(other, &self.rules)?);
        let path = self.path.clone();
        let sql = |source| Error::Sql {
            path: path.clone(),
            source,
        };
        self.conn
            .execute("ATTACH DATABASE ?1 AS other", [other.display().to_string()])
            .map_err(sql)?;
        let result = (|| -> Result<MergeCounts, rusqlite::Error> {
            let tx = self.conn.transaction()?;
            let count = |tx: &rusqlite::Transaction<'_>, table: &str| -> rusqlite::Result<u64> {
                tx.query_row(&format!("SELECT count(*) FROM main.{table}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n as u64)
            };
            let (repos0, blobs0, locations0) = (
                count(&tx, "repos")?,
                count(&tx, "blobs")?,
                count(&tx, "locations")?,
            );
            // A repository in both keeps the more recent scan.
            tx.execute_batch(
                "INSERT INTO main.repos SELECT * FROM other.repos WHERE true \
                   ON CONFLICT (name) DO UPDATE SET url = excluded.url, tips = excluded.tips, \
                   rules = excluded.rules, run = excluded.run, scanned_at = excluded.scanned_at, \
                   has_head = excluded.has_head, commits = excluded.commits, error = excluded.error \
                   WHERE coalesce(excluded.scanned_at, '') > coalesce(main.repos.scanned_at, '');
                 INSERT OR IGNORE INTO main.blobs SELECT * FROM other.blobs;
                 INSERT OR IGNORE INTO main.matches SELECT * FROM other.matches;
                 INSERT OR IGNORE INTO main.locations SELECT * FROM other.locations;
                 INSERT OR IGNORE INTO main.commits SELECT * FROM other.commits;
                 INSERT OR IGNORE INTO main.head_secrets SELECT * FROM other.head_secrets;
                 INSERT INTO main.verifications SELECT * FROM other.verifications WHERE true \
                   ON CONFLICT (secret_id) DO UPDATE SET checked = excluded.checked, \
                   body = excluded.body WHERE excluded.checked > main.verifications.checked;
                 INSERT INTO main.runs (source, shard, started, finished, counts)
                   SELECT source, shard, started, finished, counts FROM other.runs o
                   WHERE NOT EXISTS (SELECT 1 FROM main.runs m WHERE m.source = o.source
                     AND m.shard = o.shard AND m.started = o.started);",
            )?;
            let counts = MergeCounts {
                repos: count(&tx, "repos")? - repos0,
                blobs: count(&tx, "blobs")? - blobs0,
                locations: count(&tx, "locations")? - locations0,
            };
            tx.commit()?;
            Ok(counts)
        })();
        let detach = self.conn.execute("DETACH DATABASE other", []);
        let counts = result.map_err(sql)?;
        detach.map_err(sql)?;
        Ok(counts)
    }
}
