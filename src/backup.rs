//! Backup and restore of an SQLite installation: the database and its
//! evidence files in one tar archive.
//!
//! `backup` is online: `VACUUM INTO` writes a consistent copy of the
//! database as of one moment while the service keeps running, then the
//! evidence files are added. Evidence is written (and synced) before the
//! transaction that refers to it commits, and files are never changed or
//! removed, so every file the copied database names is there.
//!
//! `restore` checks the archive (manifest, SHA-256 of the database,
//! `PRAGMA integrity_check`, every evidence file against its content hash)
//! before it puts anything in place; the database is moved in with one
//! rename, then migrations bring it up to this version.
//!
//! PostgreSQL installations are backed up with `pg_dump` (see
//! RELIABILITY.md); `backup` says so instead of doing half the job.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{self, DbUrl};

/// Archive layout version.
const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "bayige.db";
const EVIDENCE: &str = "evidence";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    /// The bayige version that wrote the archive.
    pub bayige: String,
    /// When the database was copied (UTC, RFC 3339).
    pub created_at: String,
    pub database_sha256: String,
    pub database_bytes: u64,
    pub evidence_files: u64,
    pub evidence_bytes: u64,
}

/// What a backup or restore handled.
#[derive(Debug)]
pub struct Summary {
    pub manifest: Manifest,
    pub archive: PathBuf,
}

fn sqlite_path(database_url: &str) -> anyhow::Result<PathBuf> {
    match DbUrl::parse(database_url)? {
        DbUrl::Sqlite(path) => Ok(PathBuf::from(path)),
        DbUrl::Postgres(_) => bail!(
            "backup and restore handle SQLite installations; for PostgreSQL use pg_dump/pg_restore \
             and copy the data folder's evidence/ (see RELIABILITY.md)"
        ),
    }
}

fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let n = io::copy(&mut f, &mut h)?;
    Ok((format!("{:x}", h.finalize()), n))
}

#[derive(QueryableByName)]
struct IntegrityRow {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// `PRAGMA integrity_check` on the SQLite file at `path`: an error unless
/// it answers `ok` (waits for a writer that holds the lock).
pub fn integrity_check(path: &Path) -> anyhow::Result<()> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .with_context(|| format!("cannot open {}", path.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000")?;
    let rows: Vec<IntegrityRow> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .context("PRAGMA integrity_check")?;
    let result: Vec<String> = rows.into_iter().map(|r| r.integrity_check).collect();
    ensure!(
        result == ["ok"],
        "the database fails its integrity check: {}",
        result.join("; ")
    );
    Ok(())
}

/// Every evidence file under `dir` (relative path, absolute path).
fn evidence_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if !entry.file_name().to_string_lossy().starts_with('.') {
                // Temporary files of an upload in progress start with a dot.
                let rel = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes a consistent snapshot of the database and the evidence files to
/// `to` (a new file; an existing one is never overwritten).
pub fn backup(database_url: &str, data_dir: &Path, to: &Path) -> anyhow::Result<Summary> {
    let db_path = sqlite_path(database_url)?;
    ensure!(db_path.exists(), "no database at {}", db_path.display());
    ensure!(!to.exists(), "{} already exists; choose a new file name", to.display());
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(".bayige-backup-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let copy = staging.path().join(DATABASE);

    // One statement, one read transaction: a consistent copy while the
    // service keeps writing.
    let mut conn = SqliteConnection::establish(&db_path.to_string_lossy())
        .with_context(|| format!("cannot open {}", db_path.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000")?;
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(copy.to_string_lossy().into_owned())
        .execute(&mut conn)
        .context("VACUUM INTO (the database snapshot)")?;
    drop(conn);
    integrity_check(&copy)?;
    let (database_sha256, database_bytes) = sha256_file(&copy)?;

    let evidence = evidence_files(&data_dir.join(EVIDENCE))?;
    let mut evidence_bytes = 0;
    for (_, p) in &evidence {
        evidence_bytes += fs::metadata(p)?.len();
    }
    let manifest = Manifest {
        format: FORMAT,
        bayige: env!("CARGO_PKG_VERSION").to_owned(),
        created_at,
        database_sha256,
        database_bytes,
        evidence_files: evidence.len() as u64,
        evidence_bytes,
    };

    let partial = staging.path().join("archive.tar");
    {
        let file = File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
        let mut tar = tar::Builder::new(io::BufWriter::new(file));
        let json = serde_json::to_vec_pretty(&manifest)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, json.as_slice())?;
        tar.append_path_with_name(&copy, DATABASE)?;
        for (rel, path) in &evidence {
            tar.append_path_with_name(path, format!("{EVIDENCE}/{rel}"))?;
        }
        let writer = tar.into_inner()?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
    }
    // Appears under its name only when complete.
    fs::rename(&partial, to).with_context(|| format!("cannot move the archive to {}", to.display()))?;
    File::open(dir)?.sync_all()?;
    Ok(Summary {
        manifest,
        archive: to.to_owned(),
    })
}

/// Restores an archive written by [`backup`] into the SQLite database of
/// `database_url` and `data_dir`. The database must not exist unless
/// `force` (then the service must be stopped: the file is replaced).
pub fn restore(database_url: &str, data_dir: &Path, from: &Path, force: bool) -> anyhow::Result<Summary> {
    let db_path = sqlite_path(database_url)?;
    ensure!(
        force || !db_path.exists(),
        "{} exists; stop the service and pass --force to replace it",
        db_path.display()
    );
    let target_dir = db_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    fs::create_dir_all(&target_dir)?;
    let staging = tempfile::Builder::new()
        .prefix(".bayige-restore-")
        .tempdir_in(&target_dir)
        .with_context(|| format!("cannot write in {}", target_dir.display()))?;
    let unpacked = unpack(from, staging.path())?;
    check_unpacked(&unpacked)?;
    install(&unpacked, data_dir, &db_path, &target_dir)?;
    let mut conn = DbUrl::parse(database_url)?.connect()?;
    db::migrate(&mut conn)?;
    Ok(Summary {
        manifest: unpacked.manifest,
        archive: from.to_owned(),
    })
}

/// An archive unpacked into a staging folder, every evidence file checked
/// against its content hash.
struct Unpacked {
    manifest: Manifest,
    database: PathBuf,
    /// (path under the evidence folder, staged copy)
    evidence: Vec<(String, PathBuf)>,
}

fn unpack(from: &Path, staging: &Path) -> anyhow::Result<Unpacked> {
    let file = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let mut archive = tar::Archive::new(io::BufReader::new(file));
    let mut manifest: Option<Manifest> = None;
    let mut evidence: Vec<(String, PathBuf)> = Vec::new();
    for entry in archive.entries().context("not a bayige backup (tar)")? {
        let mut entry = entry.context("the archive is damaged")?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if name == MANIFEST {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            manifest = Some(serde_json::from_str(&text).context("the manifest is unreadable")?);
        } else if name == DATABASE {
            entry.unpack(staging.join(DATABASE))?;
        } else if let Some(rel) = name.strip_prefix(&format!("{EVIDENCE}/")) {
            let tmp = staging.join(format!("evidence-{}", evidence.len()));
            unpack_evidence(&mut entry, rel, &tmp)?;
            evidence.push((rel.to_owned(), tmp));
        } else {
            bail!("unexpected entry {name} in the archive");
        }
    }
    Ok(Unpacked {
        manifest: manifest.context("not a bayige backup: no manifest.json")?,
        database: staging.join(DATABASE),
        evidence,
    })
}

/// Content-addressed: the name is the SHA-256 of the content, in a folder
/// named by its first two characters.
fn unpack_evidence<R: io::Read>(entry: &mut tar::Entry<R>, rel: &str, tmp: &Path) -> anyhow::Result<()> {
    let file_name = rel.rsplit('/').next().unwrap_or_default();
    ensure!(
        file_name.len() == 64
            && file_name.bytes().all(|b| b.is_ascii_hexdigit())
            && rel == format!("{}/{file_name}", &file_name[..2]),
        "unexpected evidence entry {EVIDENCE}/{rel}"
    );
    entry.unpack(tmp)?;
    let (sha, _) = sha256_file(tmp)?;
    ensure!(sha == file_name, "evidence file {rel} is damaged (content hash {sha})");
    Ok(())
}

/// The manifest's format and counts, the database's hash and integrity.
fn check_unpacked(u: &Unpacked) -> anyhow::Result<()> {
    let manifest = &u.manifest;
    ensure!(
        manifest.format == FORMAT,
        "archive format {} is not supported (this version reads {FORMAT})",
        manifest.format
    );
    ensure!(u.database.exists(), "the archive holds no database");
    let (sha, _) = sha256_file(&u.database)?;
    ensure!(
        sha == manifest.database_sha256,
        "the database in the archive is damaged"
    );
    ensure!(
        u.evidence.len() as u64 == manifest.evidence_files,
        "the archive holds {} evidence files, its manifest {}",
        u.evidence.len(),
        manifest.evidence_files
    );
    integrity_check(&u.database)
}

/// Evidence first (new files only, each moved in whole), then the database
/// with one rename.
fn install(u: &Unpacked, data_dir: &Path, db_path: &Path, target_dir: &Path) -> anyhow::Result<()> {
    let evidence_dir = data_dir.join(EVIDENCE);
    for (rel, tmp) in &u.evidence {
        let dest = evidence_dir.join(rel);
        if dest.exists() {
            continue;
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let staged = dest.with_file_name(format!(".restore-{}", rel.replace('/', "-")));
        fs::copy(tmp, &staged)?;
        File::open(&staged)?.sync_all()?;
        fs::rename(&staged, &dest)?;
    }
    File::open(&u.database)?.sync_all()?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if side.exists() {
            fs::remove_file(&side).with_context(|| format!("cannot remove {}", side.display()))?;
        }
    }
    fs::rename(&u.database, db_path).with_context(|| format!("cannot move the database to {}", db_path.display()))?;
    File::open(target_dir)?.sync_all()?;
    Ok(())
}
