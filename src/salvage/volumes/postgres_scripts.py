"""What the ``postgresql`` method runs in the database's container, and reading its answers.

Pure text in and out (no cluster here), so every script is unit-tested. Each command is
``sh -c SCRIPT sh ARGS...``: names travel as arguments, never spliced into shell text. The
password is the first line on stdin (``read``, then exported as ``PGPASSWORD``): never on
a command line (visible in ``ps`` and in the API server's audit log), never in a log.
Connections go to ``127.0.0.1`` so the server's password rules apply as to any client.

Lines the scripts write to stderr starting with ``salvage: `` carry JSON for Salvage;
everything else on stderr is the tools' own messages, shown when something fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MARK = "salvage: "

# Password on stdin; connection settings every client below reads from the environment.
PRELUDE = ('IFS= read -r PGPASSWORD || { echo "no password on stdin" >&2; exit 97; }\n'
           'export PGPASSWORD PGHOST="$1" PGPORT="$2" PGUSER="$3" PGDATABASE="$4" PGCONNECT_TIMEOUT=10\n'
           'shift 4\n')

# The user tables a database holds (partitioned parents too), as `schema.table` → regclass.
_TABLES = ("FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
           "WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' "
           "AND n.nspname NOT LIKE 'pg\\_%'")

COUNT_ROWS = (
    "SELECT format('SELECT json_build_object(''table'', %L, ''rows'', count(*)) FROM %s', "
    f"n.nspname || '.' || c.relname, c.oid::regclass) {_TABLES} ORDER BY 1 \\gexec\n")

SERVER_FACTS = (
    "SELECT json_build_object('version', current_setting('server_version'), 'databases', "
    "(SELECT json_agg(datname ORDER BY datname) FROM pg_database WHERE NOT datistemplate AND datallowconn));\n")

# Whether a database holds anything of its own: user relations of any kind, or large objects.
HOLDS_DATA = (
    "SELECT json_build_object('relations', (SELECT count(*) FROM pg_class c JOIN pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
    "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')), "
    "'largeObjects', (SELECT count(*) FROM pg_largeobject_metadata));\n")

# psql with the script after the password on stdin; `\q` ends it, as stdin may stay open.
PSQL = PRELUDE + 'exec psql -X -q -At -w -v ON_ERROR_STOP=1\n'

GLOBALS = PRELUDE + 'exec pg_dumpall -w --globals-only\n'


def dump_session(database_size: bool = True) -> str:
    """The psql session that dumps its database: one REPEATABLE READ transaction exports its
    snapshot, counts every table's rows in it, and runs ``pg_dump --snapshot`` on it, so the
    counts are those of the dump, however many rows are written meanwhile."""
    facts = ("SELECT json_build_object('size', pg_database_size(current_database()), "
             "'version', current_setting('server_version'));\n") if database_size else ""
    return (
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n"
        "SELECT pg_export_snapshot() AS salvage_snapshot \\gset\n"
        "\\setenv SALVAGE_SNAPSHOT :salvage_snapshot\n"
        f"\\o | sed 's/^/{MARK}/' >&2\n"
        + facts + COUNT_ROWS +
        "\\o\n"
        # psql 15 keeps no exit status of `\\!`: the dump reports its own, and how many bytes
        # it wrote (a FIFO to `wc`), so a stream cut on the way is caught even when the
        # connection ends with a success. -Z0: the repository compresses (zstd);
        # pg_dump's own compression would hide unchanged rows from deduplication.
        "\\! d=$(mktemp -d) || exit 1; mkfifo \"$d/p\"; wc -c < \"$d/p\" > \"$d/n\" & "
        "{ pg_dump -w -Fc -Z0 --snapshot=\"$SALVAGE_SNAPSHOT\"; echo $? > \"$d/rc\"; } | tee \"$d/p\"; wait; "
        f"echo \"{MARK}{{\\\"dumpExit\\\": $(cat \"$d/rc\"), \\\"bytes\\\": $(cat \"$d/n\")}}\" >&2; "
        "rm -rf \"$d\"; read -r ack\n"  # exit only once Salvage has every byte (ExecStream.stdout_size)
        "COMMIT;\n\\q\n")


def count_session() -> str:
    """A psql session printing each table's row count (verify, after a restore)."""
    return "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n" + COUNT_ROWS + "COMMIT;\n\\q\n"


# Restore one dump: stdin carries the password line, then exactly `size` bytes of dump,
# written to a scratch file (pg_restore --jobs needs a file) that is removed however it ends.
RESTORE = PRELUDE + (
    'size="$1"; jobs="$2"; scratch="$3"; shift 3\n'
    'dir=$(mktemp -d "$scratch/salvage-restore.XXXXXX") || exit 1\n'
    "trap 'rm -rf \"$dir\"' EXIT\n"
    'head -c "$size" > "$dir/dump" || exit 1\n'
    'got=$(wc -c < "$dir/dump")\n'
    f'[ "$got" -eq "$size" ] || {{ echo "{MARK}{{\\"shortBy\\": $((size - got))}}" >&2; exit 1; }}\n'
    'pg_restore -w --no-password --jobs="$jobs" "$@" "$dir/dump"\n')


# Every process of one run carries ``SALVAGE_RUN=<id>`` in its environment (the server's
# backends do not: the postmaster forks them), so a run can be ended as a whole.
RUN_VARIABLE = "SALVAGE_RUN"

# An exec'd process outlives the connection that started it: the runtime keeps it, and once
# nobody reads its stdout it blocks on the full pipe for ever, its server session open and
# its snapshot held (kubernetes/kubernetes#89031). A run that fails ends its own processes,
# found by that variable through /proc (no ps or pkill needed: busybox or coreutils suffice).
#
# Leaves first, each while its parent still lives to reap it: in a container whose PID 1 is
# the postmaster (the official image's is), an orphan is handed to the postmaster, which
# takes any child of its that dies by a signal for a crashed backend and restarts the whole
# server (measured on the real node: "server process ... was terminated by signal 15", then
# recovery). For the same reason a process of the run already orphaned to PID 1 is left be.
STOP_RUN = (
    'run="$1"; rounds=0; signal=TERM\n'
    'while [ "$rounds" -lt 50 ]; do\n'
    '  pids=""\n'
    '  for p in /proc/[0-9]*; do\n'
    f'    tr "\\0" "\\n" 2>/dev/null < "$p/environ" | grep -qx "{RUN_VARIABLE}=$run" && pids="$pids ${{p#/proc/}}"\n'
    '  done\n'
    '  pairs=""; parents=" "\n'  # each process's parent, read once a round
    '  for pid in $pids; do\n'
    '    parent=$(awk \'/^PPid:/ {print $2}\' "/proc/$pid/status" 2>/dev/null)\n'
    '    pairs="$pairs $pid:$parent"; parents="$parents$parent "\n'
    '  done\n'
    '  waiting=0\n'
    '  for pair in $pairs; do\n'
    '    pid=${pair%:*}\n'
    '    case "$parents" in *" $pid "*) waiting=1; continue ;; esac\n'  # a parent: once its children are gone
    '    [ "${pair#*:}" = 1 ] && continue\n'
    '    kill -"$signal" "$pid" 2>/dev/null && waiting=1\n'
    '  done\n'
    '  [ "$waiting" = 1 ] || exit 0\n'
    '  sleep 0.2 2>/dev/null || sleep 1\n'
    '  rounds=$((rounds + 1)); [ "$rounds" -lt 25 ] || signal=KILL\n'  # one that ignored TERM for 5 s
    'done\n')


def command(script: str, server_args: tuple[str, ...], *args: str, run: str | None = None) -> list[str]:
    """``sh -c SCRIPT`` with its arguments; ``run`` marks its processes for :data:`STOP_RUN`."""
    mark = ["env", f"{RUN_VARIABLE}={run}"] if run else []
    return [*mark, "sh", "-c", script, "sh", *server_args, *args]


@dataclass
class Report:
    """What a script said on stderr: Salvage's JSON lines apart, the tools' messages kept."""

    facts: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def get(self, key: str) -> Any:
        return next((f[key] for f in self.facts if key in f), None)

    def rows(self) -> dict[str, int]:
        return {f["table"]: int(f["rows"]) for f in self.facts if "table" in f}

    def message(self) -> str:
        return "; ".join(m for m in self.messages if m.strip())[-2000:]


def read_report(stderr: str) -> Report:
    report = Report()
    for line in stderr.splitlines():
        if line.startswith(MARK):
            try:
                report.facts.append(json.loads(line[len(MARK):]))
                continue
            except ValueError:
                pass
        report.messages.append(line)
    return report


def rows_from_stdout(stdout: str) -> dict[str, int]:
    """The counts of :func:`count_session` (one JSON object a line)."""
    return {f["table"]: int(f["rows"]) for f in map(json.loads, filter(None, stdout.splitlines()))}


def quote_ident(name: str) -> str:
    """An SQL identifier as PostgreSQL quotes it when needed (pg_dumpall's spelling)."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_PASSWORD = re.compile(r" PASSWORD '(?:[^']|'')*'")


def globals_for(sql: str, existing_roles: set[str], keep_password_of: str) -> str:
    """pg_dumpall's globals, fit to replay on a server that runs already: roles it has are
    not created again (their attributes, grants and settings still apply), and the
    connecting superuser keeps its current password (the restored server's bootstrap one),
    so the Secret that started it still opens it."""
    skip_create = {f"CREATE ROLE {quote_ident(role)};" for role in existing_roles}
    own = f"ALTER ROLE {quote_ident(keep_password_of)} WITH "
    lines = []
    for line in sql.splitlines():
        if line in skip_create:
            continue
        if line.startswith(own):
            line = _PASSWORD.sub("", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def reported_size(stderr: str) -> int | None:
    """The dump's size once its report is on stderr (for ExecStream.stdout_size)."""
    if '"bytes"' not in stderr:
        return None
    size = read_report(stderr).get("bytes")
    return int(size) if size is not None else None


ACK = b"done\n"  # the word the dump session waits for before it lets psql finish
