using StyleFarm.Coordinator.Results;

namespace StyleFarm.Coordinator.Tests.Results;

public sealed class JobLabelsTests
{
    [Fact]
    public void A_label_is_the_padded_position_and_the_swept_values_as_written()
    {
        var swept = new Dictionary<string, string> { ["style_weight"] = "1e5", ["steps"] = "200" };

        Assert.Equal("003_style_weight-1e5_steps-200", JobLabels.Of(3, 3, swept));
        Assert.Equal("0042", JobLabels.Of(42, 4, new Dictionary<string, string>()));
    }

    [Fact]
    public void Paths_become_their_file_name_and_other_characters_an_underscore()
    {
        var swept = new Dictionary<string, string>
        {
            ["content"] = "images/Tübingen photo.jpg",
            ["style_layers"] = "even: {a: 1}",
            ["learning_rate"] = "-0.5",
        };

        string label = JobLabels.Of(1, 3, swept);

        Assert.Equal("001_content-T_bingen_photo_style_layers-even_a_1_learning_rate--0.5", label);
        Assert.True(JobLabels.IsSafe(label));
    }

    [Fact]
    public void A_long_label_is_cut_and_stays_safe()
    {
        var swept = new Dictionary<string, string> { ["style"] = new string('x', 300), ["steps"] = "100" };

        string label = JobLabels.Of(7, 3, swept);

        Assert.Equal(JobLabels.MaxLength, label.Length);
        Assert.StartsWith("007_style-xxx", label);
        Assert.True(JobLabels.IsSafe(label));
    }

    [Fact]
    public void A_sweeps_labels_are_unique_stable_and_padded_to_its_size()
    {
        // 1,200 jobs that all cut to the same text after the number: still distinct, four digits each.
        var jobs = Enumerable.Range(0, 1200).Select(i => (JobId: $"{i:x8}{new string('0', 56)}",
            SweptValues: (IReadOnlyDictionary<string, string>)new Dictionary<string, string>
            {
                ["style"] = new string('y', 200) + i,
            })).ToArray();

        IReadOnlyList<string> labels = JobLabels.ForSweep(jobs);

        Assert.Equal(labels, JobLabels.ForSweep(jobs));
        Assert.Equal(labels.Count, labels.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.StartsWith("0001_style-yyy", labels[0]);
        Assert.StartsWith("1200_", labels[^1]);
        Assert.All(labels, l => Assert.True(JobLabels.IsSafe(l) && l.Length <= JobLabels.MaxLength, l));
    }

    [Theory]
    [InlineData("001_style_weight-1e5", true)]
    [InlineData("../x", false)]
    [InlineData("a/b", false)]
    [InlineData(".x", false)]
    [InlineData("-rf", false)]
    [InlineData("", false)]
    public void Only_plain_file_names_are_safe(string label, bool safe) => Assert.Equal(safe, JobLabels.IsSafe(label));
}
