using System.Globalization;
using Microsoft.Data.Sqlite;

namespace StyleFarm.Coordinator.Store;

/// <summary>
/// The coordinator's durable state: sweeps, jobs, work units and attempts, in SQLite (<c>farm.db</c> in the data
/// folder). Every public method runs in one transaction and returns after it committed with synchronous=FULL, so
/// anything the caller acknowledges afterwards survives a kill; <see cref="Batch(Action)"/> groups many calls
/// under one commit. One connection serves all callers in turn (thread-safe): the farm's writes are small, and the
/// lock costs nothing next to the fsync of each commit.
/// </summary>
public sealed partial class FarmStore : IDisposable
{
    public const string DatabaseFileName = "farm.db";

    private readonly SqliteConnection _db;
    private readonly FileStream _folderLock;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private SqliteTransaction? _transaction;
    private int _savepoints;
    // Whether a sweep may be 'failed' (see SettleFailedSweepsOf): looked up once per transaction, set by SettleIdleSweep.
    private bool? _failedSweepsMayExist;
    private bool _disposed;

    public FarmStore(string dataFolder, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        DataFolder = Path.GetFullPath(dataFolder);
        Directory.CreateDirectory(DataFolder);
        DatabasePath = Path.Combine(DataFolder, DatabaseFileName);
        _folderLock = LockDataFolder(DataFolder);
        _db = new SqliteConnection(ConnectionString(DatabasePath));
        try
        {
            _db.Open();
            ConfigureConnection();
            StoreSchema.Migrate(_db, DatabasePath);
        }
        catch
        {
            _db.Dispose();
            _folderLock.Dispose();
            throw;
        }
    }

    /// <summary>The schema version this build writes; a database with a higher one is refused.</summary>
    public static int SchemaVersion => StoreSchema.Latest;

    public string DataFolder { get; }

    public string DatabasePath { get; }

    /// <summary>Runs inside every write transaction just before it commits; tests throw here to prove atomicity.</summary>
    internal Action? BeforeCommit { get; set; }

    /// <summary>The value of a pragma on the store's own connection (foreign_keys, synchronous…), for tests.</summary>
    internal string? Pragma(string name)
    {
        if (!name.All(c => char.IsAsciiLetterLower(c) || c == '_')) throw new ArgumentException($"Not a pragma: {name}", nameof(name));
        return Read(() => Scalar<string>($"PRAGMA {name}"));
    }

    /// <summary>The SQL of every statement this store has prepared so far, for tests.</summary>
    internal IReadOnlyList<string> PreparedStatements() => Read(() => _commands.Keys.ToList());

    /// <summary>SQLite's plan for <paramref name="sql"/> (its parameters bound to null), one line per step, for tests.</summary>
    internal IReadOnlyList<string> QueryPlan(string sql) => Read(() =>
    {
        using SqliteCommand explain = _db.CreateCommand();
        explain.Transaction = _transaction;
        explain.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (string name in System.Text.RegularExpressions.Regex.Matches(sql, @"\$\w+").Select(m => m.Value).Distinct())
            explain.Parameters.AddWithValue(name, DBNull.Value);
        using SqliteDataReader reader = explain.ExecuteReader();
        var steps = new List<string>();
        while (reader.Read()) steps.Add(reader.GetString(3));
        return steps;
    });

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (SqliteCommand command in _commands.Values) command.Dispose();
            _db.Dispose();
            _folderLock.Dispose();
        }
    }

    /// <summary>
    /// One coordinator per data folder: two would both recover and hand out the same units. The lock is the OS's
    /// (an exclusive open of farm.lock), so a killed coordinator's lock goes with its process.
    /// </summary>
    private static FileStream LockDataFolder(string folder)
    {
        string lockPath = Path.Combine(folder, "farm.lock");
        try
        {
            return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"{folder} is in use by another StyleFarm coordinator (it holds {lockPath}); " +
                                  "give this one another --data folder or stop the other", e);
        }
    }

    private static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        ForeignKeys = true,
        // A pooled connection would keep the file open after Dispose, and a reopened store must see a closed file.
        Pooling = false,
    }.ToString();

    private void ConfigureConnection()
    {
        Execute("PRAGMA busy_timeout = 5000");
        // WAL lets readers (the HTTP API) run beside the writer; it is a property of the file, so check it took.
        string mode = Scalar<string>("PRAGMA journal_mode = WAL") ?? "";
        if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"'{DatabasePath}' could not switch to WAL mode (it stays in '{mode}').");
        // FULL syncs the WAL on every commit: NORMAL could lose the last acknowledged changes on a power cut.
        Execute("PRAGMA synchronous = FULL");
        // 64 MiB of page cache instead of SQLite's 2 MiB: a farm's hot pages (units, jobs, attempts and their
        // indexes) stay in memory between statements instead of being read back through the WAL on every call.
        Execute("PRAGMA cache_size = -65536");
    }

    /// <summary>
    /// Runs several store calls as one transaction with one fsync (group commit): a commit costs milliseconds on
    /// a real disk, so an actor that handles many messages at once should apply them in a batch and acknowledge
    /// them all after it returns. All or nothing: if any call throws, none of the batch is stored.
    /// </summary>
    public void Batch(Action work) => Write(() =>
    {
        work();
        return true;
    });

    /// <inheritdoc cref="Batch(Action)"/>
    public T Batch<T>(Func<T> work) => Write(work);

    private T Write<T>(Func<T> work)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_transaction is not null) return WriteInBatch(work);
            // IMMEDIATE takes the write lock up front, so the transaction never fails half-way to upgrade it.
            using SqliteTransaction transaction = _db.BeginTransaction(deferred: false);
            _transaction = transaction;
            _failedSweepsMayExist = null;
            try
            {
                T result = work();
                BeforeCommit?.Invoke();
                transaction.Commit();
                return result;
            }
            finally
            {
                _transaction = null;
            }
        }
    }

    /// <summary>
    /// A call inside a batch (the lock is re-entrant, so this is the batch's own thread) joins its transaction
    /// under a savepoint: if it throws and the batch catches, the call still leaves nothing behind.
    /// </summary>
    private T WriteInBatch<T>(Func<T> work)
    {
        // Plain SQL rather than SqliteTransaction.Save, so the statements are prepared once (see Command).
        string savepoint = $"call{++_savepoints}";
        Execute($"SAVEPOINT {savepoint}");
        try
        {
            T result = work();
            Execute($"RELEASE {savepoint}");
            return result;
        }
        catch
        {
            Execute($"ROLLBACK TO {savepoint}");
            Execute($"RELEASE {savepoint}");
            throw;
        }
        finally
        {
            _savepoints--;
        }
    }

    private T Read<T>(Func<T> work)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_transaction is not null) return work();
            // One read transaction, so a result built from several queries sees one state.
            using SqliteTransaction transaction = _db.BeginTransaction(deferred: true);
            _transaction = transaction;
            try
            {
                return work();
            }
            finally
            {
                _transaction = null;
            }
        }
    }

    /// <summary>
    /// The prepared command for this SQL, bound to the open transaction (Microsoft.Data.Sqlite refuses a command
    /// without it) and to <paramref name="args"/>. Commands are kept per SQL text because preparing a statement
    /// costs several times more than running it; the store owns them, so callers never dispose one.
    /// </summary>
    private SqliteCommand Command(string sql, ReadOnlySpan<(string Name, object? Value)> args)
    {
        if (!_commands.TryGetValue(sql, out SqliteCommand? command))
        {
            command = _db.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }
        command.Transaction = _transaction;
        SqliteParameterCollection parameters = command.Parameters;
        if (!SameNames(parameters, args))
        {
            parameters.Clear();
            foreach ((string name, _) in args) parameters.Add(new SqliteParameter { ParameterName = name });
        }
        // A cached command is nearly always called with the same names: only the values change, no new objects.
        for (int i = 0; i < args.Length; i++) parameters[i].Value = args[i].Value ?? DBNull.Value;
        return command;
    }

    private static bool SameNames(SqliteParameterCollection parameters, ReadOnlySpan<(string Name, object? Value)> args)
    {
        if (parameters.Count != args.Length) return false;
        for (int i = 0; i < args.Length; i++)
            if (!string.Equals(parameters[i].ParameterName, args[i].Name, StringComparison.Ordinal)) return false;
        return true;
    }

    private int Execute(string sql, params ReadOnlySpan<(string Name, object? Value)> args) =>
        Command(sql, args).ExecuteNonQuery();

    private T? Scalar<T>(string sql, params ReadOnlySpan<(string Name, object? Value)> args)
    {
        object? value = Command(sql, args).ExecuteScalar();
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
    }

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params ReadOnlySpan<(string Name, object? Value)> args)
    {
        // The map must not query: it would rebind this command while its reader is open.
        using SqliteDataReader reader = Command(sql, args).ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(map(reader));
        return rows;
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static string Db<TEnum>(TEnum value) where TEnum : struct, Enum =>
        value.ToString().ToLowerInvariant();

    /// <summary>A set of states as one JSON parameter, matched with <c>IN (SELECT value FROM json_each(...))</c>.</summary>
    private static string DbSet<TEnum>(params TEnum[] values) where TEnum : struct, Enum =>
        StoreJson.Write(values.Select(Db).ToArray());

    /// <summary>A set of states as one parameter for <c>instr($states, ',' || state || ',') > 0</c>: <c>,queued,running,</c>.</summary>
    private static string StateList<TEnum>(params TEnum[] values) where TEnum : struct, Enum =>
        $",{string.Join(',', values.Select(Db))},";

    /// <summary>A short id for a new sweep, easy to type in <c>stylefarm status ID</c>.</summary>
    public static string NewSweepId() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 6));
}
