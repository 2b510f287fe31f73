namespace StyleFarm.Browser.Tests.Support;

/// <summary>Where the browser tests leave their screenshots: TestResults/browser/ beside the test assembly.</summary>
public static class Artifacts
{
    public static string Folder { get; } = Directory.CreateDirectory(
        Path.Combine(AppContext.BaseDirectory, "TestResults", "browser")).FullName;
}
