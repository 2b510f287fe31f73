using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Store;

/// <summary>A fresh data folder per test, deleted with everything in it on dispose.</summary>
public sealed class DataFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("stylefarm-store-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public FarmStore OpenStore() => new(Path);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on another thread; the OS temp cleaner will get it.
        }
    }
}

/// <summary>Small sweeps, jobs and results for store tests.</summary>
internal static class Farm
{
    public static string Hash(string text) => HashBytes(Encoding.UTF8.GetBytes(text));

    public static string HashBytes(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static JobSettings Job(double styleWeight, int steps = 100) => new(
        "resnet18", null, 64, steps, 1, styleWeight, 0, 0.03, "adam", "content", 0, 50, "layer3",
        [new StyleLayerWeight("layer1", 1), new StyleLayerWeight("layer2", 0.5)], Hash("content"), Hash("style"));

    public static JobSettings[] Jobs(params double[] styleWeights) => styleWeights.Select(w => Job(w)).ToArray();

    /// <summary>A sweep whose jobs (minus <paramref name="skip"/>, already done) run <paramref name="perUnit"/> to a unit, one variant each.</summary>
    public static NewSweep Sweep(string id, IReadOnlyList<JobSettings> jobs, int perUnit = 1, int retries = 3, int priority = 50,
        IEnumerable<string>? skip = null)
    {
        var done = (skip ?? []).ToHashSet();
        WorkUnit[] units = jobs.Where(j => !done.Contains(j.JobId)).Chunk(perUnit)
            .Select((chunk, i) => Unit($"{id}-u{i}", id, priority, chunk)).ToArray();
        NewSweepJob[] entries = jobs.Select(j => new NewSweepJob(j, new Dictionary<string, string>
        {
            ["style_weight"] = j.StyleWeight.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["steps"] = j.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })).ToArray();
        return new NewSweep(id, $"sweep {id}", $"name: {id}\n", priority, retries, entries, units);
    }

    public static WorkUnit Unit(string unitId, string sweepId, int priority, IReadOnlyList<JobSettings> jobs) => new(
        unitId, sweepId, priority, jobs[0],
        jobs.Select((j, i) => new UnitVariant($"v{i}", j.ContentWeight, j.StyleWeight, j.TvWeight, j.LearningRate, j.StyleLayers,
            [new JobAtStep(j.JobId, j.Steps)])).ToArray());

    public static JobResult Result(string unitId, string attemptId, string jobId, string device = "node-a/cpu", string image = "image") =>
        new(unitId, attemptId, jobId, device, Hash(image + jobId), Hash("trace" + jobId),
            new LossValues(1.5, 0.5, 1.0, double.NaN),
            new JobTimings(DateTimeOffset.UnixEpoch.AddSeconds(10), DateTimeOffset.UnixEpoch.AddSeconds(12), 1.75, 2));

    /// <summary>Runs a unit to its end on a device: assign, run, record every job, complete.</summary>
    public static string RunToEnd(FarmStore store, string unitId, string node = "node-a", string device = "node-a/cpu")
    {
        string attempt = store.AssignUnit(unitId, node, device) ?? throw new InvalidOperationException($"{unitId} not assignable");
        Assert.True(store.MarkUnitRunning(unitId, attempt));
        foreach (JobAtStep job in store.GetUnit(unitId)!.Unit.Jobs)
            store.RecordJobResult(Result(unitId, attempt, job.JobId, device));
        store.CompleteUnit(unitId, attempt);
        return attempt;
    }

    /// <summary>A connection of our own to a farm database, unpooled so the file is closed on dispose.</summary>
    public static SqliteConnection Raw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
