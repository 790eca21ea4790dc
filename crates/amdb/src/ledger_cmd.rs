//! `amdb ledger ...` and `amdb audit`: the tamper-evident history of a database created with
//! a ledger (docs/ledger.md), its proofs as JSON (docs/proof-json.md), and the audit
//! records of kv writes.
//!
//! `ledger verify-proof` is pure: it reads a proof file and a root the user trusts and
//! opens no database, so it runs anywhere the proof is sent.

use std::io::Read;
use std::path::{Path, PathBuf};

use amdb_engine::ledger::merkle::{from_hex, to_hex, Hash};
use amdb_engine::ledger::proof::{ConsistencyProof, EntryProof};
use amdb_engine::ledger::tx::Op;
use amdb_engine::ledger::{verify_ledger, AuditInfo, LedgerRoot, VerifyReport};
use amdb_engine::{Db, KeyspaceOptions, Options, DEFAULT_KEYSPACE};
use amdb_market::time::format_time;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::{AuditOpts, GlobalArgs};
use crate::escape::escape_into;
use crate::market::parse_time;
use crate::output::print;
use crate::{open_read_only, CliError, CliResult};

/// The `version` of the proof JSON this tool writes and reads: 2 since the second hash layout
/// (`docs/ledger.md`); a version-1 proof was hashed the first way and cannot be checked.
pub const PROOF_FORMAT_VERSION: u64 = 2;

/// The engine's file that says a database exists (a directory without it holds none).
const CURRENT_FILE: &str = "CURRENT";

#[derive(Debug, Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub command: LedgerCommand,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Create a new database with a ledger at --data and print its (empty) root.
    ///
    /// From then on every committed batch is a numbered, timed transaction whose hash chains
    /// to the previous one, and every `kv put`/`kv del`/`kv load` carries an audit record. A
    /// ledger can only be created with the database: a directory already holding a database
    /// without one is refused. Running it again on a ledger database changes nothing and
    /// prints its current root.
    Init,

    /// Print the ledger's root: `tx N  root HEX  time RFC3339`.
    ///
    /// N is the number of transactions the root covers (the tree size), TIME the commit time
    /// of transaction N (`-` while empty). Keep this line somewhere the database's writers
    /// cannot change (print it daily, mail it, commit it): proofs and `ledger verify` check
    /// against it, and `ledger consistency` proves later roots extend it.
    Root {
        /// The root as it was when the ledger held N transactions.
        #[arg(long, value_name = "N")]
        at: Option<u64>,
        /// Print one JSON object: tx, root (hex), time_ns and time (null while empty).
        #[arg(long)]
        json: bool,
    },

    /// Check the whole database against its ledger.
    ///
    /// Recomputes the hash chain and the Merkle tree from the LEDGER file, compares the root
    /// with a trusted one if given, and checks every entry the tables and WAL still hold
    /// against the entry hash the ledger recorded for it. Success prints what was checked
    /// and the root; the first fault found is reported in one line naming the transaction
    /// and the check, with exit status 3. Opens the database read-only.
    Verify {
        /// A root kept earlier (`ledger root`); the ledger must still have it at
        /// --trusted-size transactions.
        #[arg(long, value_name = "HEX", value_parser = parse_hash, requires = "trusted_size")]
        trusted_root: Option<Hash>,
        /// The number of transactions the trusted root covers (its `tx`).
        #[arg(long, value_name = "N", requires = "trusted_root")]
        trusted_size: Option<u64>,
        /// Print one JSON object: ok, tx, root, time_ns, time, entries, versions_checked and
        /// fault (null, or check, tx and detail).
        #[arg(long)]
        json: bool,
    },

    /// Print a proof, as JSON, that KEY had its value (or was deleted) in a transaction.
    ///
    /// The proof is of the version current after transaction --tx (default: the newest),
    /// against the root of the first --size transactions (default: all). Check it anywhere
    /// with `amdb ledger verify-proof FILE --root HEX`, with the root of that size. Older
    /// versions are provable only while the keyspace holds them: a versioned keyspace keeps
    /// every version, others only until compaction. The format is in docs/proof-json.md.
    Proof {
        /// The key, as UTF-8 text.
        key: String,
        /// Keyspace of the key.
        #[arg(long, short = 'k', value_name = "NAME", default_value = DEFAULT_KEYSPACE)]
        keyspace: String,
        /// Prove the version current just after transaction N.
        #[arg(long, value_name = "N")]
        tx: Option<u64>,
        /// Against the root of the first N transactions (as `ledger root --at N` prints it).
        #[arg(long, value_name = "N")]
        size: Option<u64>,
    },

    /// Print a proof, as JSON, that the ledger at --to transactions extends the one at --from.
    ///
    /// That is: nothing in the first --from transactions was changed, removed or reordered.
    /// Check it with `amdb ledger verify-proof FILE --root OLD_ROOT`, where OLD_ROOT is the
    /// root you kept of --from transactions.
    Consistency {
        /// Size of the older ledger (the `tx` of the root you kept).
        #[arg(long, value_name = "N")]
        from: u64,
        /// Size of the newer ledger (default: all transactions so far).
        #[arg(long, value_name = "M")]
        to: Option<u64>,
    },

    /// Check a proof from `ledger proof` or `ledger consistency` against a trusted root.
    ///
    /// Opens no database: only the proof file and the root are needed. For an entry proof,
    /// --root is the root of the proof's tree size (give --size to make sure it is); success
    /// prints the key, its value and the transaction. For a consistency proof, --root is the
    /// OLD root you kept; success prints the newer root the proof vouches for, which you may
    /// then trust. A proof that does not verify is reported in one line, exit status 3.
    VerifyProof {
        /// The proof (JSON), or `-` for standard input.
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
        /// The trusted root, 64 hex digits.
        #[arg(long, value_name = "HEX", value_parser = parse_hash)]
        root: Hash,
        /// The number of transactions the trusted root covers; the proof must be for that
        /// size (entry proofs: tree_size; consistency proofs: old_size).
        #[arg(long, value_name = "N")]
        size: Option<u64>,
    },
}

/// `amdb audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Records committed at or after T: an RFC 3339 time, a date (midnight UTC), an epoch
    /// number (seconds, ms, us or ns by magnitude), now or today.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub from: Option<i64>,
    /// Records committed before T (exclusive).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub to: Option<i64>,
    /// One JSON object a line: tx, time_ns, time, who, what, correlation_id.
    #[arg(long)]
    pub json: bool,
}

/// Parses 64 hex digits.
pub fn parse_hash(s: &str) -> Result<Hash, String> {
    from_hex(s.trim()).ok_or_else(|| {
        "expected 64 hex digits (a root as `amdb ledger root` prints it)".to_string()
    })
}

/// Lowercase hex of any bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| {
            let d = |b: u8| char::from(b).to_digit(16);
            Some(((d(p[0])? << 4) | d(p[1])?) as u8)
        })
        .collect()
}

/// A "verification failed" error: exit status 3, and main prints the message after
/// `amdb: ` (it says what failed).
fn verify_failed(message: String) -> CliError {
    CliError {
        code: crate::EXIT_VERIFY_FAILED,
        message,
    }
}

/// `tx N  root HEX  time RFC3339`.
pub fn root_line(r: &LedgerRoot) -> String {
    format!(
        "tx {}  root {}  time {}",
        r.tx,
        to_hex(&r.root),
        r.time_ns.map_or_else(|| "-".to_string(), format_time)
    )
}

fn root_json(r: &LedgerRoot) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("tx".into(), r.tx.into());
    m.insert("root".into(), to_hex(&r.root).into());
    m.insert("time_ns".into(), r.time_ns.into());
    m.insert("time".into(), r.time_ns.map(format_time).into());
    m
}

/// `1 transaction`, `2 transactions`.
fn transactions(n: u64) -> String {
    if n == 1 {
        "1 transaction".to_string()
    } else {
        format!("{n} transactions")
    }
}

fn print_line(s: &str) -> CliResult {
    print(&mut std::io::stdout().lock(), &format!("{s}\n"))
}

fn no_database(dir: &Path) -> CliError {
    CliError::new(format!(
        "no database at {} (create one with a ledger: `amdb ledger init --data {}`)",
        dir.display(),
        dir.display()
    ))
}

fn no_ledger(dir: &Path) -> CliError {
    CliError::new(format!(
        "{} has no ledger (a ledger can only be created with a new database: \
         `amdb ledger init --data NEW_DIR`)",
        dir.display()
    ))
}

/// The database at --data, read-only, which must have a ledger.
fn ledger_db(g: &GlobalArgs) -> CliResult<Db> {
    if !g.data.join(CURRENT_FILE).exists() {
        return Err(no_database(&g.data));
    }
    let db = open_read_only(&g.data)?;
    if !db.has_ledger() {
        return Err(no_ledger(&g.data));
    }
    Ok(db)
}

pub fn run(g: &GlobalArgs, args: LedgerArgs) -> CliResult {
    match args.command {
        LedgerCommand::Init => init(g),
        LedgerCommand::Root { at, json } => {
            let db = ledger_db(g)?;
            let root = match at {
                Some(n) => db.ledger_root_at(n)?,
                None => db.ledger_root()?,
            };
            if json {
                print_line(&Value::Object(root_json(&root)).to_string())
            } else {
                print_line(&root_line(&root))
            }
        }
        LedgerCommand::Verify {
            trusted_root,
            trusted_size,
            json,
        } => verify(g, trusted_size.zip(trusted_root), json),
        LedgerCommand::Proof {
            key,
            keyspace,
            tx,
            size,
        } => {
            let db = ledger_db(g)?;
            let ks = crate::kv::keyspace(&db, g, &keyspace)?;
            let p = db.entry_proof(&ks, &key, tx, size)?;
            print_line(&entry_proof_json(&p, Some(&keyspace)))
        }
        LedgerCommand::Consistency { from, to } => {
            let db = ledger_db(g)?;
            let to = match to {
                Some(to) => to,
                None => db.ledger_root()?.tx,
            };
            let p = db.consistency_proof(from, to)?;
            print_line(&consistency_proof_json(&p))
        }
        LedgerCommand::VerifyProof { file, root, size } => verify_proof(&file, &root, size),
    }
}

fn init(g: &GlobalArgs) -> CliResult {
    let dir = &g.data;
    if dir.join(CURRENT_FILE).exists() {
        let db = open_read_only(dir)?;
        if !db.has_ledger() {
            return Err(CliError::new(format!(
                "{} already holds a database without a ledger; a ledger can only be created \
                 with a new database (run `amdb ledger init --data NEW_DIR`, then copy the \
                 keys over with `amdb kv scan` and `amdb kv load --escaped`)",
                dir.display()
            )));
        }
        let root = db.ledger_root()?;
        return print_line(&format!(
            "{} already has a ledger\n{}",
            dir.display(),
            root_line(&root)
        ));
    }
    let db = Db::open(
        dir,
        Options {
            create_if_missing: true,
            durability: g.durability,
            ledger: true,
            // Every version stays provable: compaction keeps superseded versions.
            default_keyspace: KeyspaceOptions {
                versioned: true,
                ..KeyspaceOptions::default()
            },
            ..Options::default()
        },
    )?;
    let root = db.ledger_sync()?;
    db.close()?;
    print_line(&format!(
        "created a database with a ledger at {}\n{}",
        dir.display(),
        root_line(&root)
    ))
}

fn verify(g: &GlobalArgs, trusted: Option<(u64, Hash)>, json: bool) -> CliResult {
    if !g.data.join(CURRENT_FILE).exists() {
        return Err(no_database(&g.data));
    }
    let report: VerifyReport = verify_ledger(&g.data, trusted)?;
    if json {
        let mut m = Map::new();
        m.insert("ok".into(), report.fault.is_none().into());
        m.extend(root_json(&report.root));
        m.insert("entries".into(), report.entries.into());
        m.insert("versions_checked".into(), report.versions_checked.into());
        m.insert(
            "fault".into(),
            match &report.fault {
                None => Value::Null,
                Some(f) => serde_json::json!({
                    "check": f.check.name(),
                    "tx": f.tx,
                    "detail": f.detail,
                }),
            },
        );
        print_line(&Value::Object(m).to_string())?;
    }
    if let Some(f) = &report.fault {
        return Err(verify_failed(format!(
            "ledger verification failed in {}: {f}",
            g.data.display()
        )));
    }
    if !json {
        let trusted = match trusted {
            Some((n, _)) => format!("; extends the trusted root of {}", transactions(n)),
            None => String::new(),
        };
        print_line(&format!(
            "ledger of {} verified: {}, {} entries, {} stored versions checked{trusted}\n{}",
            g.data.display(),
            transactions(report.root.tx),
            report.entries,
            report.versions_checked,
            root_line(&report.root)
        ))?;
    }
    Ok(())
}

// ---- proof JSON (docs/proof-json.md) ----

#[derive(Serialize)]
struct EntryProofJson<'a> {
    kind: &'static str,
    version: u64,
    keyspace: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyspace_name: Option<&'a str>,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_utf8: Option<&'a str>,
    op: &'static str,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_utf8: Option<&'a str>,
    tx: u64,
    time_ns: i64,
    time: String,
    prev: String,
    entry_index: u64,
    entry_count: u64,
    entry_path: Vec<String>,
    tree_size: u64,
    tx_path: Vec<String>,
}

#[derive(Serialize)]
struct ConsistencyProofJson {
    kind: &'static str,
    version: u64,
    old_size: u64,
    old_root: String,
    new_size: u64,
    new_root: String,
    path: Vec<String>,
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Put => "put",
        Op::Delete => "delete",
    }
}

fn hexes(hs: &[Hash]) -> Vec<String> {
    hs.iter().map(to_hex).collect()
}

/// The entry proof as pretty-printed JSON.
pub fn entry_proof_json(p: &EntryProof, keyspace_name: Option<&str>) -> String {
    let j = EntryProofJson {
        kind: "entry",
        version: PROOF_FORMAT_VERSION,
        keyspace: p.keyspace,
        keyspace_name,
        key: hex(&p.key),
        key_utf8: std::str::from_utf8(&p.key).ok(),
        op: op_name(p.op),
        value: hex(&p.value),
        value_utf8: match p.op {
            Op::Put => std::str::from_utf8(&p.value).ok(),
            Op::Delete => None,
        },
        tx: p.tx,
        time_ns: p.time_ns,
        time: format_time(p.time_ns),
        prev: to_hex(&p.prev),
        entry_index: p.entry_index,
        entry_count: p.entry_count,
        entry_path: hexes(&p.entry_path),
        tree_size: p.tree_size,
        tx_path: hexes(&p.tx_path),
    };
    serde_json::to_string_pretty(&j).expect("plain data serializes")
}

/// The consistency proof as pretty-printed JSON.
pub fn consistency_proof_json(p: &ConsistencyProof) -> String {
    let j = ConsistencyProofJson {
        kind: "consistency",
        version: PROOF_FORMAT_VERSION,
        old_size: p.old_size,
        old_root: to_hex(&p.old_root),
        new_size: p.new_size,
        new_root: to_hex(&p.new_root),
        path: hexes(&p.path),
    };
    serde_json::to_string_pretty(&j).expect("plain data serializes")
}

/// A proof file read back.
#[derive(Debug)]
pub enum Proof {
    Entry(EntryProof),
    Consistency(ConsistencyProof),
}

/// The fields of a proof object, with errors naming the file and the field.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    label: &'a str,
}

impl Fields<'_> {
    fn bad(&self, name: &str, what: &str) -> String {
        format!("{}: field {name:?}: {what}", self.label)
    }

    fn get(&self, name: &str) -> Result<&Value, String> {
        self.obj
            .get(name)
            .ok_or_else(|| format!("{}: missing field {name:?}", self.label))
    }

    fn str(&self, name: &str) -> Result<&str, String> {
        self.get(name)?
            .as_str()
            .ok_or_else(|| self.bad(name, "expected a string"))
    }

    fn u64(&self, name: &str) -> Result<u64, String> {
        self.get(name)?
            .as_u64()
            .ok_or_else(|| self.bad(name, "expected an integer from 0 to 2^64-1"))
    }

    fn i64(&self, name: &str) -> Result<i64, String> {
        self.get(name)?
            .as_i64()
            .ok_or_else(|| self.bad(name, "expected an integer from -2^63 to 2^63-1"))
    }

    fn u32(&self, name: &str) -> Result<u32, String> {
        u32::try_from(self.u64(name)?)
            .map_err(|_| self.bad(name, "expected an integer from 0 to 2^32-1"))
    }

    fn bytes(&self, name: &str) -> Result<Vec<u8>, String> {
        unhex(self.str(name)?).ok_or_else(|| self.bad(name, "expected hex digits, two per byte"))
    }

    fn hash(&self, name: &str) -> Result<Hash, String> {
        from_hex(self.str(name)?).ok_or_else(|| self.bad(name, "expected 64 hex digits"))
    }

    fn hashes(&self, name: &str) -> Result<Vec<Hash>, String> {
        let list = self
            .get(name)?
            .as_array()
            .ok_or_else(|| self.bad(name, "expected an array of hashes"))?;
        list.iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .and_then(from_hex)
                    .ok_or_else(|| self.bad(name, &format!("item {i}: expected 64 hex digits")))
            })
            .collect()
    }
}

/// Parses a proof as `ledger proof` or `ledger consistency` prints it. Fields other than
/// the ones a verifier needs (`key_utf8`, `time`, ...) are ignored. `label` names the source
/// in errors.
pub fn parse_proof(text: &str, label: &str) -> Result<Proof, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("{label}: not a JSON proof: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{label}: not a JSON proof: expected an object"))?;
    let f = Fields { obj, label };
    let check_version = || {
        let version = f.u64("version")?;
        if version != PROOF_FORMAT_VERSION {
            return Err(f.bad(
                "version",
                &format!("this amdb reads version {PROOF_FORMAT_VERSION}, not {version}"),
            ));
        }
        Ok(())
    };
    match f.str("kind")? {
        "entry" => {
            check_version()?;
            let op = match f.str("op")? {
                "put" => Op::Put,
                "delete" => Op::Delete,
                _ => return Err(f.bad("op", "expected \"put\" or \"delete\"")),
            };
            Ok(Proof::Entry(EntryProof {
                keyspace: f.u32("keyspace")?,
                key: f.bytes("key")?,
                op,
                value: f.bytes("value")?,
                tx: f.u64("tx")?,
                time_ns: f.i64("time_ns")?,
                prev: f.hash("prev")?,
                entry_index: f.u64("entry_index")?,
                entry_count: f.u64("entry_count")?,
                entry_path: f.hashes("entry_path")?,
                tree_size: f.u64("tree_size")?,
                tx_path: f.hashes("tx_path")?,
            }))
        }
        "consistency" => {
            check_version()?;
            Ok(Proof::Consistency(ConsistencyProof {
                old_size: f.u64("old_size")?,
                old_root: f.hash("old_root")?,
                new_size: f.u64("new_size")?,
                new_root: f.hash("new_root")?,
                path: f.hashes("path")?,
            }))
        }
        _ => Err(f.bad("kind", "expected \"entry\" or \"consistency\"")),
    }
}

/// Text for the message of a verified proof: escaped as `kv scan` prints it, quoted.
fn quoted(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'"');
    escape_into(bytes, &mut out);
    out.push(b'"');
    String::from_utf8_lossy(&out).into_owned()
}

fn verify_proof(file: &Path, root: &Hash, size: Option<u64>) -> CliResult {
    let stdin = file.as_os_str() == "-";
    let label = if stdin {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    let mut text = String::new();
    let read = if stdin {
        std::io::stdin().lock().read_to_string(&mut text)
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_string(&mut text))
    };
    read.map_err(|e| CliError::new(format!("read {label}: {e}")))?;
    let failed = |why: String| verify_failed(format!("proof verification failed: {label}: {why}"));
    match parse_proof(&text, &label).map_err(CliError::new)? {
        Proof::Entry(p) => {
            if let Some(n) = size {
                if p.tree_size != n {
                    return Err(failed(format!(
                        "the proof is for the root of {} transactions, the trusted root is of \
                         {n} (make the proof with `amdb ledger proof --size {n}`)",
                        p.tree_size
                    )));
                }
            }
            p.verify(root).map_err(|e| failed(e.to_string()))?;
            let what = match p.op {
                Op::Put => format!("had value {}", quoted(&p.value)),
                Op::Delete => "was deleted".to_string(),
            };
            print_line(&format!(
                "verified: key {} in keyspace id {} {what} in tx {} at {}; root {} covers {}",
                quoted(&p.key),
                p.keyspace,
                p.tx,
                format_time(p.time_ns),
                to_hex(root),
                transactions(p.tree_size)
            ))
        }
        Proof::Consistency(p) => {
            if let Some(n) = size {
                if p.old_size != n {
                    return Err(failed(format!(
                        "the proof starts from the root of {} transactions, the trusted root \
                         is of {n} (make the proof with `amdb ledger consistency --from {n}`)",
                        p.old_size
                    )));
                }
            }
            p.verify_from(root).map_err(|e| failed(e.to_string()))?;
            print_line(&format!(
                "verified: the ledger of {} with root {} extends the trusted root of {}\n\
                 tx {}  root {}",
                transactions(p.new_size),
                to_hex(&p.new_root),
                transactions(p.old_size),
                p.new_size,
                to_hex(&p.new_root)
            ))
        }
    }
}

// ---- audit ----

/// Before a kv write opens (and maybe creates) the database: audit options need a database
/// that exists and has a ledger, so a mistaken write does not create one without.
pub fn check_audit_target(g: &GlobalArgs, opts: &AuditOpts) -> CliResult {
    if opts.any_given() && !g.data.join(CURRENT_FILE).exists() {
        return Err(CliError::new(format!(
            "--who, --what and --correlation-id need a database with a ledger, and there is \
             no database at {} (create it with `amdb ledger init --data {}`)",
            g.data.display(),
            g.data.display()
        )));
    }
    Ok(())
}

/// The audit record of a kv write to `db`: always one in a database with a ledger (missing
/// options get defaults: who $USER, what from `what`), none otherwise, where audit options
/// are an error.
pub fn audit_info(
    db: &Db,
    g: &GlobalArgs,
    opts: &AuditOpts,
    what: impl FnOnce() -> String,
) -> CliResult<Option<AuditInfo>> {
    if !db.has_ledger() {
        if opts.any_given() {
            return Err(CliError::new(format!(
                "--who, --what and --correlation-id need a database with a ledger, and {} has \
                 none (create a new database with `amdb ledger init --data NEW_DIR`)",
                g.data.display()
            )));
        }
        return Ok(None);
    }
    Ok(Some(AuditInfo {
        who: opts.who.clone().unwrap_or_else(default_who),
        what: opts.what.clone().unwrap_or_else(what),
        correlation_id: opts.correlation_id.clone().unwrap_or_default(),
    }))
}

/// $USER (or $USERNAME), else `unknown`.
fn default_who() -> String {
    ["USER", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// `amdb audit`: the records in [from, to), oldest first.
pub fn run_audit(g: &GlobalArgs, args: AuditArgs) -> CliResult {
    use std::io::Write as _;
    let db = ledger_db(g)?;
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from >= to {
            return Ok(());
        }
    }
    let records = db.audit_trail(args.from, args.to)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    for r in &records {
        line.clear();
        if args.json {
            let j = serde_json::json!({
                "tx": r.tx,
                "time_ns": r.time_ns,
                "time": format_time(r.time_ns),
                "who": r.info.who,
                "what": r.info.what,
                "correlation_id": r.info.correlation_id,
            });
            line.extend_from_slice(j.to_string().as_bytes());
        } else {
            line.extend_from_slice(format!("{}\t{}\t", format_time(r.time_ns), r.tx).as_bytes());
            escape_into(r.info.who.as_bytes(), &mut line);
            line.push(b'\t');
            escape_into(r.info.what.as_bytes(), &mut line);
            line.push(b'\t');
            escape_into(r.info.correlation_id.as_bytes(), &mut line);
        }
        line.push(b'\n');
        out.write_all(&line).map_err(crate::output::stdout_err)?;
    }
    out.flush().map_err(crate::output::stdout_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EntryProof {
        EntryProof {
            keyspace: 3,
            key: b"k\x00".to_vec(),
            op: Op::Put,
            value: "v\u{e9}".as_bytes().to_vec(),
            tx: 7,
            time_ns: 1_700_000_000_123_456_789,
            prev: [1; 32],
            entry_index: 1,
            entry_count: 2,
            entry_path: vec![[2; 32]],
            tree_size: 9,
            tx_path: vec![[3; 32], [4; 32]],
        }
    }

    #[test]
    fn entry_proof_json_round_trips() {
        let p = sample();
        let text = entry_proof_json(&p, Some("default"));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["kind"], "entry");
        assert_eq!(v["key"], "6b00");
        assert_eq!(v["key_utf8"], "k\u{0}");
        assert_eq!(v["value_utf8"], "v\u{e9}");
        assert_eq!(v["op"], "put");
        assert_eq!(v["time"], "2023-11-14T22:13:20.123456789Z");
        match parse_proof(&text, "p.json").unwrap() {
            Proof::Entry(back) => assert_eq!(back, p),
            other => panic!("{other:?}"),
        }
        let del = EntryProof {
            op: Op::Delete,
            value: Vec::new(),
            ..p
        };
        let text = entry_proof_json(&del, None);
        assert!(!text.contains("value_utf8") && !text.contains("keyspace_name"));
        match parse_proof(&text, "p.json").unwrap() {
            Proof::Entry(back) => assert_eq!(back, del),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn consistency_proof_json_round_trips() {
        let p = ConsistencyProof {
            old_size: 3,
            old_root: [5; 32],
            new_size: 8,
            new_root: [6; 32],
            path: vec![[7; 32]],
        };
        match parse_proof(&consistency_proof_json(&p), "c.json").unwrap() {
            Proof::Consistency(back) => assert_eq!(back, p),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_proofs_name_the_field() {
        let text = entry_proof_json(&sample(), None);
        let edit = |field: &str, to: Value| {
            let mut v: Value = serde_json::from_str(&text).unwrap();
            v[field] = to;
            parse_proof(&v.to_string(), "p.json").unwrap_err()
        };
        assert!(edit("key", "6".into()).contains("field \"key\""));
        assert!(edit("prev", "zz".into()).contains("field \"prev\""));
        assert!(edit("tx", (-1).into()).contains("field \"tx\""));
        assert!(edit("keyspace", (1u64 << 40).into()).contains("field \"keyspace\""));
        assert!(edit("op", "upsert".into()).contains("field \"op\""));
        assert!(edit("version", 1.into()).contains("version 2, not 1"));
        assert!(edit("kind", "x".into()).contains("field \"kind\""));
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("tx_path");
        assert!(parse_proof(&v.to_string(), "p.json")
            .unwrap_err()
            .contains("missing field \"tx_path\""));
        assert!(parse_proof("[1]", "p.json")
            .unwrap_err()
            .starts_with("p.json: "));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(""), Some(vec![]));
    }
}
