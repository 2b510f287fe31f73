using System.Text;
using StyleFarm.Coordinator.Dashboard.Web;

namespace StyleFarm.Coordinator.Tests.Dashboard.Web;

public sealed class WebAssetsTests
{
    [Fact]
    public void TheEmbeddedFilesAreFoundByTheirPathUnderWwwroot()
    {
        WebAssets assets = WebAssets.Default;

        foreach ((_, string page) in DashboardPages.Pages) Assert.NotNull(assets.Find(page));
        Assert.NotNull(assets.Find("js/api.js"));
        Assert.NotNull(assets.Find("vendor/chart.umd.min.js"));
        Assert.NotNull(assets.Find("vendor/LICENSE.md"));
        Assert.All(assets.Paths, p => Assert.DoesNotContain('\\', p));
        Assert.Null(assets.Find("/js/api.js"));
        Assert.Null(assets.Find("JS/API.JS"));
        Assert.Throws<KeyNotFoundException>(() => assets["js/missing.js"]);
    }

    [Theory]
    [InlineData("pages/sweeps.html", "text/html; charset=utf-8")]
    [InlineData("js/api.js", "text/javascript; charset=utf-8")]
    [InlineData("css/site.css", "text/css; charset=utf-8")]
    [InlineData("vendor/LICENSE.md", "text/markdown; charset=utf-8")]
    [InlineData("favicon.svg", "image/svg+xml")]
    [InlineData("a.PNG", "image/png")]
    [InlineData("vendor/chart.umd.min.js.map", "application/octet-stream")]
    public void TheContentTypeFollowsTheExtension(string path, string contentType) =>
        Assert.Equal(contentType, WebAssets.ContentTypeOf(path));

    [Fact]
    public void TheETagChangesWithTheContentOnly()
    {
        WebAsset a = WebAssets.Create("js/a.js", Encoding.UTF8.GetBytes("export const a = 1;"));
        WebAsset same = WebAssets.Create("js/b.js", Encoding.UTF8.GetBytes("export const a = 1;"));
        WebAsset changed = WebAssets.Create("js/a.js", Encoding.UTF8.GetBytes("export const a = 2;"));

        Assert.Equal(a.ETag, same.ETag);
        Assert.NotEqual(a.ETag, changed.ETag);
        Assert.Matches("^\"[0-9a-f]{24}\"$", a.ETag);
    }

    [Theory]
    [InlineData("\"abc\"", true)]
    [InlineData("W/\"abc\"", true)]
    [InlineData("\"x\", \"abc\"", true)]
    [InlineData("*", true)]
    [InlineData("\"abcd\"", false)]
    [InlineData("abc", false)]
    [InlineData("", false)]
    public void IfNoneMatchMatchesTheTagInAListOrWeakOrAny(string header, bool matches) =>
        Assert.Equal(matches, DashboardPages.Matches([header], "\"abc\""));
}
