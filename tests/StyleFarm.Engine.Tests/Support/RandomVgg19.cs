using StyleFarm.Engine.Networks.Vgg19;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Support;

/// <summary>VGG19 with He-initialised random weights, built in memory: real shapes, no download.</summary>
public static class RandomVgg19
{
    public static Vgg19Network Create(long seed = 11)
    {
        long[] channels = [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512];
        int[] indices = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];
        var generator = new Generator((ulong)seed);
        using var scope = NewDisposeScope();
        var weights = new Dictionary<string, Tensor>();
        long inputs = 3;
        for (int i = 0; i < channels.Length; i++)
        {
            weights[$"features.{indices[i]}.weight"] = randn([channels[i], inputs, 3, 3], generator: generator) * Math.Sqrt(2.0 / (inputs * 9));
            weights[$"features.{indices[i]}.bias"] = zeros(channels[i]);
            inputs = channels[i];
        }
        return Vgg19Network.FromStateDict(weights, "random VGG19");
    }
}
