using Microsoft.Playwright;

namespace StyleFarm.Browser.Tests.Support;

/// <summary>
/// The browser these tests drive: Debian's chromium (<c>/usr/bin/chromium</c>, or <c>$STYLEFARM_CHROMIUM</c>), headless,
/// through the Playwright driver that ships in the NuGet package. Playwright's own browser download is never used.
/// </summary>
public static class Chromium
{
    public const string DefaultPath = "/usr/bin/chromium";

    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("STYLEFARM_CHROMIUM") is { Length: > 0 } configured ? configured : DefaultPath;

    /// <summary>CI sets CI=true (.ci/run exports it); there a missing browser is a failure, not a skip.</summary>
    public static bool InCi =>
        Environment.GetEnvironmentVariable("CI") is { Length: > 0 } ci && ci != "0" && !ci.Equals("false", StringComparison.OrdinalIgnoreCase);

    /// <summary>Skips the test on a developer machine without Chromium, saying how to install it; fails it in CI.</summary>
    public static void Require()
    {
        if (File.Exists(ExecutablePath)) return;
        string missing = $"no Chromium at {ExecutablePath}: install it with `apt-get install chromium` (or set STYLEFARM_CHROMIUM)";
        if (InCi) Assert.Fail($"{missing}; CI must run the browser tests");
        Skip.If(true, missing);
    }

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ExecutablePath, Headless = true });
}
