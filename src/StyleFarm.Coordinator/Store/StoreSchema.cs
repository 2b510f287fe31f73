using Microsoft.Data.Sqlite;

namespace StyleFarm.Coordinator.Store;

/// <summary>
/// The schema as ordered migrations; PRAGMA user_version holds how many have run. A migration is only ever
/// appended, never edited, so every database walks the same path to the latest version.
/// </summary>
internal static class StoreSchema
{
    private static readonly string[] Migrations = [V1, V2, V3];

    public static int Latest => Migrations.Length;

    /// <summary>Brings the database up to date in one transaction, so a crash mid-migration leaves the old version.</summary>
    public static void Migrate(SqliteConnection db, string path)
    {
        using SqliteTransaction tx = db.BeginTransaction(deferred: false);
        int current = UserVersion(db, tx);
        if (current > Latest) throw new StoreVersionException(path, current, Latest);
        for (int version = current + 1; version <= Latest; version++)
        {
            Execute(db, tx, Migrations[version - 1]);
            Execute(db, tx, $"PRAGMA user_version = {version}");
        }
        tx.Commit();
    }

    private static int UserVersion(SqliteConnection db, SqliteTransaction tx)
    {
        using SqliteCommand command = db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "PRAGMA user_version";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection db, SqliteTransaction tx, string sql)
    {
        using SqliteCommand command = db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    // Times are Unix milliseconds (UTC); states are lower-case enum names; JSON columns hold records of StyleFarm.Messages.
    private const string V1 = """
        CREATE TABLE sweeps (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            file_text   TEXT NOT NULL,
            state       TEXT NOT NULL CHECK (state IN ('queued','running','paused','done','failed','cancelled')),
            priority    INTEGER NOT NULL,
            retries     INTEGER NOT NULL CHECK (retries >= 0),
            created_at  INTEGER NOT NULL,
            finished_at INTEGER
        );
        CREATE INDEX sweeps_state ON sweeps(state);

        -- A job is shared by every sweep that asks for it: its id is the hash of its full settings.
        CREATE TABLE jobs (
            id             TEXT PRIMARY KEY,
            settings_json  TEXT NOT NULL,
            state          TEXT NOT NULL CHECK (state IN ('queued','running','done','failed','cancelled')),
            result_blob    TEXT,
            trace_blob     TEXT,
            final_losses   TEXT,
            node           TEXT,
            device         TEXT,
            created_at     INTEGER NOT NULL,
            started_at     INTEGER,
            finished_at    INTEGER,
            engine_seconds REAL,
            batch_size     INTEGER,
            failure_reason TEXT,
            CHECK (state <> 'done' OR result_blob IS NOT NULL)
        );
        CREATE INDEX jobs_state ON jobs(state);

        CREATE TABLE sweep_jobs (
            sweep_id   TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
            job_id     TEXT NOT NULL REFERENCES jobs(id),
            seq        INTEGER NOT NULL,
            swept_json TEXT NOT NULL,
            PRIMARY KEY (sweep_id, job_id)
        ) WITHOUT ROWID;
        CREATE INDEX sweep_jobs_job ON sweep_jobs(job_id);

        -- Units run in (seq, rowid) order within their sweep; the parts of a split unit take its seq.
        CREATE TABLE units (
            id              TEXT PRIMARY KEY,
            sweep_id        TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
            seq             INTEGER NOT NULL,
            unit_json       TEXT NOT NULL,
            state           TEXT NOT NULL CHECK (state IN ('queued','assigned','running','done','failed','cancelled','split')),
            attempt_id      TEXT,
            node            TEXT,
            device          TEXT,
            checkpoint_blob TEXT,
            checkpoint_step INTEGER,
            attempts        INTEGER NOT NULL DEFAULT 0,
            failures        INTEGER NOT NULL DEFAULT 0,
            failure_reason  TEXT,
            updated_at      INTEGER NOT NULL,
            CHECK ((attempt_id IS NULL) = (state NOT IN ('assigned','running')))
        );
        CREATE INDEX units_sweep ON units(sweep_id, state);
        CREATE INDEX units_node ON units(node) WHERE node IS NOT NULL;

        CREATE TABLE unit_jobs (
            unit_id  TEXT NOT NULL REFERENCES units(id) ON DELETE CASCADE,
            sweep_id TEXT NOT NULL,
            job_id   TEXT NOT NULL,
            PRIMARY KEY (unit_id, job_id),
            FOREIGN KEY (sweep_id, job_id) REFERENCES sweep_jobs(sweep_id, job_id) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX unit_jobs_job ON unit_jobs(sweep_id, job_id);

        -- One row per hand-out of a unit to a device; its id travels in every report about that run.
        CREATE TABLE attempts (
            id          TEXT PRIMARY KEY,
            unit_id     TEXT NOT NULL REFERENCES units(id) ON DELETE CASCADE,
            sweep_id    TEXT NOT NULL,
            node        TEXT NOT NULL,
            device      TEXT NOT NULL,
            started_at  INTEGER NOT NULL,
            finished_at INTEGER,
            outcome     TEXT CHECK (outcome IN ('done','failed','requeued','cancelled')),
            reason      TEXT,
            CHECK ((outcome IS NULL) = (finished_at IS NULL))
        );
        CREATE INDEX attempts_unit ON attempts(unit_id);
        CREATE INDEX attempts_sweep_node ON attempts(sweep_id, node);
        CREATE INDEX attempts_open ON attempts(unit_id) WHERE finished_at IS NULL;

        CREATE TABLE snapshots (
            job_id TEXT NOT NULL REFERENCES jobs(id),
            step   INTEGER NOT NULL,
            blob   TEXT NOT NULL,
            PRIMARY KEY (job_id, step)
        ) WITHOUT ROWID;
        """;

    /// <summary>
    /// Drops two indexes that every unit's writes kept up to date but no per-unit statement reads: jobs_state (each
    /// job's queued, running and done moved its entry; only startup recovery filters jobs by state alone, once) and
    /// attempts_open (attempts_unit finds a unit's few attempts just as well).
    /// </summary>
    private const string V2 = """
        DROP INDEX IF EXISTS jobs_state;
        DROP INDEX IF EXISTS attempts_open;
        """;

    /// <summary>
    /// Moves the two wide, write-once JSON columns out of the rows that change on every assignment and result:
    /// a unit's plan (unit_json) and a job's settings (settings_json) go to tables of their own. SQLite rewrites a
    /// whole row on UPDATE, and a commit writes every page it touched: with a kilobyte of JSON per row, two or
    /// three units shared a page, so each unit's state change rewrote a page of its own.
    /// </summary>
    private const string V3 = """
        CREATE TABLE unit_specs (
            unit_id   TEXT PRIMARY KEY REFERENCES units(id) ON DELETE CASCADE,
            unit_json TEXT NOT NULL
        );
        INSERT INTO unit_specs (unit_id, unit_json) SELECT id, unit_json FROM units;
        ALTER TABLE units DROP COLUMN unit_json;

        CREATE TABLE job_settings (
            job_id        TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
            settings_json TEXT NOT NULL
        );
        INSERT INTO job_settings (job_id, settings_json) SELECT id, settings_json FROM jobs;
        ALTER TABLE jobs DROP COLUMN settings_json;
        """;
}
