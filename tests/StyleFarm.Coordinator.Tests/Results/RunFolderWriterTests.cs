using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Tests.Results;

public sealed class RunFolderWriterTests : IDisposable
{
    private readonly ResultsFarm _farm = new();

    public void Dispose() => _farm.Dispose();

    [Fact]
    public async Task Every_done_jobs_image_is_a_readable_png_equal_to_its_blob()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();

        RunFolderSummary summary = await RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);

        Assert.Equal((2, 1, 1), (summary.JobsDone, summary.JobsFailed, summary.JobsMissing));
        var done = results.Jobs.Where(j => j.State == JobState.Done).ToList();
        Assert.Equal(2, done.Count);
        foreach (SweepResultRow job in done)
        {
            string path = Path.Combine(folder, "images", job.Label + ".png");
            Assert.Equal(_farm.Blobs.Read(job.ImageBlob!), File.ReadAllBytes(path));
            using Image<Rgb24> image = Image.Load<Rgb24>(path);
            Assert.Equal((8, 6), (image.Width, image.Height));
        }
        // Only done jobs have an image: the failed and the queued one have none.
        Assert.Equal(2, Directory.GetFiles(Path.Combine(folder, "images")).Length);
        Assert.Empty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Snapshots_traces_and_the_sweep_file_go_where_the_layout_says()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();

        await RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);

        SweepResultRow first = results.Jobs[0];
        Assert.Equal("001_style_weight-1e5_steps-100", first.Label);
        string snapshot = Path.Combine(folder, "snapshots", first.Label, "step-000050.png");
        Assert.Equal(_farm.Blobs.Read(_farm.SnapshotBlob), File.ReadAllBytes(snapshot));
        string trace = File.ReadAllText(Path.Combine(folder, "traces", first.Label + ".csv"));
        Assert.StartsWith("step,total,content,style_layer1,style_layer2,tv\n", trace);
        Assert.Equal(_farm.Blobs.Read(first.TraceBlob!), File.ReadAllBytes(Path.Combine(folder, "traces", first.Label + ".csv")));
        Assert.Equal(ResultsFarm.SweepText, File.ReadAllText(Path.Combine(folder, "sweep.yaml")));
    }

    [Fact]
    public async Task Results_csv_has_one_properly_quoted_row_per_job_in_expansion_order()
    {
        string folder = _farm.NewRunFolder();
        await RunFolderWriter.WriteAsync(_farm.Results(), _farm.Reader().Read, folder, CancellationToken.None);

        List<string[]> rows = Csv.Parse(File.ReadAllText(Path.Combine(folder, "results.csv")));

        string[] header = rows[0];
        Assert.Equal(["label", "job_id", "state", "swept_style_weight", "swept_steps", "network", "size", "steps",
            "content_weight", "style_weight", "tv_weight", "learning_rate", "optimizer", "init", "seed", "content_layer",
            "style_layers", "total_loss", "content_loss", "style_loss", "tv_loss", "node", "device", "started_at",
            "finished_at", "engine_seconds", "batch_size", "attempts", "image", "trace", "failure_reason"], header);
        Assert.Equal(5, rows.Count);
        Assert.All(rows, r => Assert.Equal(header.Length, r.Length));
        Dictionary<string, string>[] jobs = rows.Skip(1).Select(r => header.Zip(r).ToDictionary(p => p.First, p => p.Second)).ToArray();

        Assert.Equal(_farm.Jobs.Select(j => j.JobId), jobs.Select(j => j["job_id"]));
        Assert.Equal(["done", "done", "failed", "queued"], jobs.Select(j => j["state"]));
        Assert.Equal(["1e5", "1e5", "3", "3"], jobs.Select(j => j["swept_style_weight"]));
        Assert.Equal(["100000", "100000", "3", "3"], jobs.Select(j => j["style_weight"]));
        Assert.Equal("layer1=1;layer2=0.5", jobs[0]["style_layers"]);
        Assert.Equal(("2.5", "NaN"), (jobs[0]["total_loss"], jobs[0]["tv_loss"]));
        Assert.Equal(("node-a", "node-a/cuda:0", "1970-01-01T00:01:00.000Z"), (jobs[1]["node"], jobs[1]["device"], jobs[1]["started_at"]));
        Assert.Equal(("12.5", "2", "2"), (jobs[1]["engine_seconds"], jobs[1]["batch_size"], jobs[1]["attempts"]));
        Assert.Equal("images/002_style_weight-1e5_steps-200.png", jobs[1]["image"]);
        // The reason has a comma, quotes and a line break: it comes back whole.
        Assert.Equal(ResultsFarm.FailureReason, jobs[2]["failure_reason"]);
        Assert.Equal(("", "", ""), (jobs[2]["image"], jobs[3]["image"], jobs[3]["total_loss"]));
    }

    [Fact]
    public async Task Results_json_round_trips_into_sweep_results_with_each_jobs_files()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();
        await RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);

        string json = File.ReadAllText(Path.Combine(folder, "results.json"));
        SweepResults read = SweepResultsJson.Deserialize(json);

        Assert.Equal(json.TrimEnd('\n'), SweepResultsJson.Serialize(read));
        Assert.Equal((results.SweepId, results.Name, results.State, results.FileText), (read.SweepId, read.Name, read.State, read.FileText));
        Assert.Equal(results.Jobs.Select(j => j.Settings), read.Jobs.Select(j => j.Settings));
        Assert.True(double.IsNaN(read.Jobs[0].FinalLosses!.Tv));
        Assert.Equal((null, null, 0), (read.Jobs[3].Files!.Image, read.Jobs[3].Files!.Trace, read.Jobs[3].Files!.Snapshots.Count));
        RunFiles files = read.Jobs[0].Files!;
        Assert.Equal(("images/001_style_weight-1e5_steps-100.png", "traces/001_style_weight-1e5_steps-100.csv"), (files.Image, files.Trace));
        Assert.Equal(["snapshots/001_style_weight-1e5_steps-100/step-000050.png"], files.Snapshots);
        Assert.All(read.Jobs.SelectMany(j => new[] { j.Files!.Image, j.Files.Trace }.Concat(j.Files.Snapshots)).OfType<string>(),
            path => Assert.True(File.Exists(Path.Combine(folder, path)), path));
        Assert.Contains("\"state\": \"failed\"", json);
    }

    [Fact]
    public async Task Rewriting_the_same_folder_fetches_and_touches_nothing_and_keeps_the_users_files()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();
        RunFolderSummary first = await RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "my notes");
        File.WriteAllText(Path.Combine(folder, "images", "favourite.png"), "not a png, and not ours");
        Dictionary<string, (DateTime, string)> before = Snapshot(folder);

        CountingReader reader = _farm.Reader();
        RunFolderSummary again = await RunFolderWriter.WriteAsync(_farm.Results(), reader.Read, folder, CancellationToken.None);

        Assert.Empty(again.FilesWritten);
        Assert.Equal(first.FilesWritten.Count, again.FilesUnchanged);
        Assert.Equal(0, reader.Calls);
        Dictionary<string, (DateTime, string)> after = Snapshot(folder);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, file => Assert.Equal(file.Value, after[file.Key]));
    }

    [Fact]
    public async Task A_damaged_file_of_ours_is_written_again_from_its_blob()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();
        await RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);
        string image = Path.Combine(folder, RunFolderWriter.ImagePath(results.Jobs[1].Label));
        File.WriteAllBytes(image, [1, 2, 3]);

        RunFolderSummary again = await RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);

        Assert.Equal([RunFolderWriter.ImagePath(results.Jobs[1].Label)], again.FilesWritten);
        Assert.Equal(_farm.Blobs.Read(results.Jobs[1].ImageBlob!), File.ReadAllBytes(image));
    }

    [Fact]
    public async Task A_blob_whose_bytes_do_not_match_its_hash_is_an_error_naming_it_and_is_not_written()
    {
        SweepResults results = _farm.Results();
        string corrupt = results.Jobs[1].ImageBlob!;
        string folder = _farm.NewRunFolder();
        Task<byte[]> Tampering(string hash, CancellationToken ct) =>
            hash == corrupt ? Task.FromResult(ResultsFarm.Png(7)) : File.ReadAllBytesAsync(_farm.Blobs.PathOf(hash), ct);

        var error = await Assert.ThrowsAsync<BlobMismatchException>(() =>
            RunFolderWriter.WriteAsync(results, Tampering, folder, CancellationToken.None));

        Assert.Equal(corrupt, error.Hash);
        Assert.Contains(corrupt, error.Message);
        Assert.Contains(results.Jobs[1].Label, error.Message);
        Assert.False(File.Exists(Path.Combine(folder, RunFolderWriter.ImagePath(results.Jobs[1].Label))));
        // The first job's files, written before, stay.
        Assert.True(File.Exists(Path.Combine(folder, RunFolderWriter.ImagePath(results.Jobs[0].Label))));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/tmp/escape")]
    [InlineData(".hidden")]
    [InlineData("")]
    public async Task A_label_that_is_not_a_safe_file_name_is_refused_before_anything_is_written(string label)
    {
        SweepResults results = _farm.Results();
        results = results with { Jobs = [results.Jobs[0] with { Label = label }, .. results.Jobs.Skip(1)] };
        string folder = _farm.NewRunFolder();

        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None));

        Assert.Contains(results.Jobs[0].JobId, error.Message);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void The_default_folder_is_runs_and_the_sweep_name_made_safe()
    {
        Assert.Equal(Path.Combine("runs", "demo_sweep"), RunFolderWriter.FolderFor("demo sweep"));
        Assert.Equal(Path.Combine("runs", "etc_passwd"), RunFolderWriter.FolderFor("../etc/passwd"));
        Assert.Equal(Path.Combine("out", "sweep"), RunFolderWriter.FolderFor("..", "out"));
    }

    [Fact]
    public async Task A_folder_holding_another_sweeps_results_is_refused_untouched_and_the_default_moves_aside()
    {
        SweepResults first = _farm.Results();
        string runs = Path.GetDirectoryName(_farm.NewRunFolder())!;
        string folder = RunFolderWriter.FolderFor(first, runs);
        await RunFolderWriter.WriteAsync(first, _farm.Reader().Read, folder, CancellationToken.None);
        var before = Snapshot(folder);

        // Another sweep with the same name but other jobs: it must not overwrite the first one's images.
        SweepResults other = first with { SweepId = "sweep2", Jobs = first.Jobs.Take(2).ToList() };
        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            RunFolderWriter.WriteAsync(other, _farm.Reader().Read, folder, CancellationToken.None));
        Assert.Contains(ResultsFarm.SweepId, error.Message);
        Assert.Equal(before, Snapshot(folder));
        Assert.Equal(folder + "-sweep2", RunFolderWriter.FolderFor(other, runs));

        // The same sweep file run again (a new sweep id, the same jobs) goes back to its own folder.
        SweepResults again = first with { SweepId = "sweep3" };
        Assert.Equal(folder, RunFolderWriter.FolderFor(again, runs));
        await RunFolderWriter.WriteAsync(again, _farm.Reader().Read, folder, CancellationToken.None);
    }

    private static Dictionary<string, (DateTime, string)> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f), f => (File.GetLastWriteTimeUtc(f), Convert.ToHexString(File.ReadAllBytes(f))));
}

/// <summary>An RFC 4180 reader, strict enough to catch bad quoting.</summary>
internal static class Csv
{
    public static List<string[]> Parse(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, wasQuoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"') field.Append(text[++i]);
                else quoted = false;
            }
            else if (c == '"')
            {
                Assert.True(field.Length == 0 && !wasQuoted, $"A quote inside an unquoted field at {i}");
                quoted = wasQuoted = true;
            }
            else if (c is ',' or '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                wasQuoted = false;
                if (c == '\n')
                {
                    rows.Add([.. row]);
                    row.Clear();
                }
            }
            else
            {
                Assert.False(wasQuoted, $"Text after a closing quote at {i}");
                field.Append(c);
            }
        }
        Assert.False(quoted, "An unterminated quoted field");
        Assert.True(row.Count == 0 && field.Length == 0, "The last line has no line break");
        return rows;
    }
}
