using System.Text.Json;
using System.Text.RegularExpressions;
using SixLabors.ImageSharp;

namespace StyleFarm.Farm.Tests.Support;

internal static class FarmAssert
{
    /// <summary>
    /// Every job of the sweep is done, listed once in results.json with a readable image, and was recorded by the
    /// coordinator(s) exactly once (each recorded result is logged as "recorded job ID").
    /// </summary>
    public static void EveryJobDoneOnce(ProcessFarm farm, string sweepId, JsonElement[] rows, int expectedJobs,
        params FarmProcess[] coordinators)
    {
        Assert.Equal(expectedJobs, rows.Length);
        string[] ids = rows.Select(r => r.GetProperty("jobId").GetString()!).ToArray();
        Assert.Equal(expectedJobs, ids.Distinct().Count());
        foreach (JsonElement row in rows)
        {
            string id = row.GetProperty("jobId").GetString()!;
            Assert.True(row.GetProperty("state").GetString() == "done", $"job {id} is {row.GetProperty("state")}");
            string image = Path.Combine(farm.ResultsFolder(sweepId), row.GetProperty("files").GetProperty("image").GetString()!);
            var info = Image.Identify(image);
            Assert.True(info is { Width: > 0, Height: > 0 }, $"{image} is not an image");
            int recorded = coordinators.Sum(c => c.Count($"recorded job {Regex.Escape(id)}"));
            Assert.True(recorded == 1, $"job {id} was recorded {recorded} times");
        }
    }

    public static string[] NodesOf(JsonElement[] rows) =>
        rows.Select(r => r.GetProperty("node").GetString()!).Distinct().Order().ToArray();
}
