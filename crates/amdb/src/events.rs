//! `amdb events put|list`: the append-only event tables (signals, signal_log, orders, fills,
//! positions) that agents write.

use amdb_market::events::EventQuery;
use amdb_market::time::format_time;
use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use crate::cli::GlobalArgs;
use crate::market::{parse_time, readable, writable};
use crate::output::print;
use crate::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Append one event (durable before the command returns) and print its sequence number.
    ///
    /// The payload is stored as MessagePack: either --json '{"side":"buy","strength":0.7}'
    /// or --field side=buy --field strength=0.7 (numbers, true/false and null are typed,
    /// anything else is a string).
    Put {
        /// Table: signals, signal_log, orders, fills, positions, or another [a-z0-9_] name.
        table: String,
        /// The agent writing the event.
        #[arg(long, short = 'a', value_name = "NAME")]
        agent: String,
        /// The instrument it concerns.
        #[arg(long, short = 's', default_value = "", value_name = "S")]
        symbol: String,
        /// Event time (default: now).
        #[arg(long, value_parser = parse_time, value_name = "TIME")]
        ts: Option<i64>,
        /// The payload as one JSON object.
        #[arg(long, conflicts_with = "field", value_name = "JSON")]
        json: Option<String>,
        /// A payload field KEY=VALUE (repeatable).
        #[arg(long, value_name = "KEY=VALUE")]
        field: Vec<String>,
    },
    /// List events oldest first, as JSON lines (or a table).
    List {
        table: String,
        #[arg(long, value_parser = parse_time, value_name = "TIME")]
        from: Option<i64>,
        /// Events before this time only (exclusive).
        #[arg(long, value_parser = parse_time, value_name = "TIME")]
        to: Option<i64>,
        /// Only this agent's events.
        #[arg(long, short = 'a', value_name = "NAME")]
        agent: Option<String>,
        /// Only events about this symbol.
        #[arg(long, short = 's', value_name = "S")]
        symbol: Option<String>,
        /// At most N events.
        #[arg(long, short = 'n', value_name = "N")]
        limit: Option<usize>,
        /// Aligned columns instead of JSON lines.
        #[arg(long)]
        table_format: bool,
    },
}

pub fn run(g: &GlobalArgs, args: EventsArgs) -> CliResult {
    match args.command {
        EventsCommand::Put {
            table,
            agent,
            symbol,
            ts,
            json,
            field,
        } => {
            let payload = match json {
                Some(j) => {
                    let v: Value = serde_json::from_str(&j)
                        .map_err(|e| CliError::new(format!("--json: {e}")))?;
                    if !v.is_object() {
                        return Err(CliError::new("--json: expected a JSON object"));
                    }
                    v
                }
                None => Value::Object(fields(&field)?),
            };
            if agent.is_empty() {
                return Err(CliError::new(
                    "--agent must not be empty (events are listed by agent)",
                ));
            }
            let market = writable(g)?;
            let ts = ts.unwrap_or_else(now_ns);
            let seq = market.put_event(&table, ts, &agent, &symbol, &payload)?;
            println!("{seq}");
            market.close()?;
            Ok(())
        }
        EventsCommand::List {
            table,
            from,
            to,
            agent,
            symbol,
            limit,
            table_format,
        } => {
            let market = readable(g)?;
            let events = market.events(
                &table,
                &EventQuery {
                    from,
                    to,
                    agent,
                    symbol,
                    limit,
                },
            )?;
            let mut out = std::io::stdout().lock();
            if table_format {
                print(
                    &mut out,
                    &format!(
                        "{:<32} {:>10} {:<16} {:<12} payload\n",
                        "time", "seq", "agent", "symbol"
                    ),
                )?;
            }
            for e in &events {
                // A payload JSON cannot express (e.g. integer map keys) is shown as hex.
                let payload = e.payload_json().unwrap_or_else(|_| {
                    let hex: String = e.payload.iter().map(|b| format!("{b:02x}")).collect();
                    serde_json::json!({ "msgpack_hex": hex })
                });
                let line = if table_format {
                    format!(
                        "{:<32} {:>10} {:<16} {:<12} {payload}",
                        format_time(e.ts),
                        e.seq,
                        e.agent,
                        e.symbol
                    )
                } else {
                    serde_json::json!({
                        "table": table, "ts": format_time(e.ts), "seq": e.seq,
                        "agent": e.agent, "symbol": e.symbol, "payload": payload,
                    })
                    .to_string()
                };
                print(&mut out, &format!("{line}\n"))?;
            }
            Ok(())
        }
    }
}

fn fields(pairs: &[String]) -> CliResult<Map<String, Value>> {
    let mut m = Map::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| CliError::new(format!("--field {p:?}: expected KEY=VALUE")))?;
        let value = match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            // Numbers only when they read back as written: `007` or `1e3` stay text.
            _ => match (v.parse::<i64>(), v.parse::<f64>()) {
                (Ok(i), _) if i.to_string() == v => Value::from(i),
                (_, Ok(f)) if f.is_finite() && f.to_string() == v => Value::from(f),
                _ => Value::String(v.to_string()),
            },
        };
        m.insert(k.to_string(), value);
    }
    Ok(m)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
