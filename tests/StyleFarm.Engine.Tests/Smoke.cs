namespace StyleFarm.Engine.Tests; public class Smoke { [Fact] public void TorchLoads() => Assert.Equal(27f, TorchSharp.torch.ones(3,3).matmul(TorchSharp.torch.ones(3,3)).sum().item<float>()); }
