using StyleFarm.Cluster;

namespace StyleFarm.Coordinator.Tests.Cluster;

public class ClusterOptionsTests
{
    private static readonly StyleFarmClusterOptions Gpu = new() { Roles = [StyleFarmRoles.Gpu], SeedNodes = ["akka.tcp://stylefarm@127.0.0.1:4053"] };

    [Fact]
    public void Defaults_are_the_stylefarm_system_on_127_0_0_1_with_akka_frame_size()
    {
        var options = new StyleFarmClusterOptions { Roles = [StyleFarmRoles.Coordinator] };

        Assert.Equal("stylefarm", options.SystemName);
        Assert.Equal("127.0.0.1", options.Host);
        Assert.Equal("127.0.0.1", options.AdvertisedHost);
        Assert.Equal(0, options.Port);
        Assert.Equal(128_000, options.MaximumFrameSize);
        Assert.False(options.SerializeMessages);
        Assert.Empty(options.Problems());
        Assert.Empty(Gpu.Problems());
        Assert.Equal("akka.tcp://stylefarm@127.0.0.1:4053", options.AddressOf("127.0.0.1", 4053));
    }

    public static TheoryData<StyleFarmClusterOptions, string> Invalid() => new()
    {
        { Gpu with { Host = "localhost" }, "not localhost" },
        { Gpu with { Host = "LocalHost." }, "not localhost" },
        { Gpu with { PublicHostname = "localhost" }, "rather than localhost" },
        { Gpu with { SeedNodes = ["akka.tcp://stylefarm@localhost:4053"] }, "not localhost" },
        { Gpu with { Host = "0.0.0.0" }, "public hostname" },
        { Gpu with { Host = "" }, "Host is empty" },
        { Gpu with { Port = 70000 }, "not a TCP port" },
        { Gpu with { SeedNodes = ["akka.tcp://other@127.0.0.1:4053"] }, "names system 'other'" },
        { Gpu with { SeedNodes = ["127.0.0.1:4053"] }, "is not an address" },
        { Gpu with { Roles = [] }, "at least one role" },
        { Gpu with { Roles = ["GPU node"] }, "lowercase" },
        { Gpu with { SystemName = "style farm", SeedNodes = [] }, "System name" },
        { Gpu with { MaximumFrameSize = 65_536 }, "frame size" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Each_problem_is_reported_with_what_to_do(StyleFarmClusterOptions options, string expected)
    {
        var problem = Assert.Single(options.Problems());
        Assert.Contains(expected, problem);
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Binding_every_interface_works_with_a_public_hostname()
    {
        Assert.Empty((Gpu with { Host = "0.0.0.0", PublicHostname = "10.0.0.7" }).Problems());
        Assert.Equal("10.0.0.7", (Gpu with { Host = "0.0.0.0", PublicHostname = "10.0.0.7" }).AdvertisedHost);
    }
}
