using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Devices;

/// <summary>Parses device names (cpu, cuda, cuda:N) and checks that the device exists before any work starts.</summary>
public static class ComputeDevice
{
    public static Device Resolve(string name)
    {
        string trimmed = name.Trim().ToLowerInvariant();
        if (trimmed == "cpu") return CPU;
        if (trimmed == "cuda" || trimmed.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (trimmed.Length > 4 && !int.TryParse(trimmed.AsSpan(5), out index) || index < 0)
                throw new EngineException($"device '{name}': expected cpu, cuda or cuda:N");
            if (!cuda.is_available())
                throw new EngineException(
                    $"device '{name}': no CUDA device is available here (this build of StyleFarm uses " +
                    "TorchSharp-cpu unless built with -p:StyleFarmTorch=cuda); use --device cpu");
            int count = cuda.device_count();
            if (index >= count)
                throw new EngineException($"device '{name}': only {count} CUDA device(s) exist (cuda:0 … cuda:{count - 1})");
            return new Device(DeviceType.CUDA, index);
        }
        throw new EngineException($"device '{name}': expected cpu, cuda or cuda:N");
    }

    /// <summary>Sets the number of CPU threads torch uses for intra-op parallelism (0 keeps the default).</summary>
    public static void SetThreads(int threads)
    {
        if (threads < 0) throw new EngineException($"threads must be 0 (default) or positive, not {threads}");
        if (threads > 0) torch.set_num_threads(threads);
    }

    /// <summary>A tensor this object owns, moved to <paramref name="device"/>; the old handle is freed when a copy was made.</summary>
    public static Tensor MoveOwned(Tensor tensor, Device device)
    {
        Tensor moved = tensor.to(device).DetachFromDisposeScope();
        if (!ReferenceEquals(moved, tensor)) tensor.Dispose();
        return moved;
    }
}
