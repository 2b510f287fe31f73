using System.Globalization;

namespace StyleFarm.GpuNode.Devices;

/// <summary>A device's memory as the coordinator wants it: free and total bytes, 0 meaning unknown.</summary>
public readonly record struct MemoryReading(long FreeBytes, long TotalBytes);

/// <summary>Reads a device's memory: the CPU's from /proc/meminfo (else the GC's view); CUDA's is not exposed by TorchSharp, so unknown.</summary>
public static class DeviceMemory
{
    private static readonly TimeSpan CpuReadingLifetime = TimeSpan.FromMilliseconds(500);
    private static CpuSample? _lastCpu; // a reference, swapped whole: devices read it from several threads

    /// <summary>The device's memory; the CPU's is read at most twice a second (a device asks for work thousands of times a second in the dispatch benchmark).</summary>
    public static MemoryReading Of(string device)
    {
        if (!device.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase))
            return new MemoryReading(0, 0);
        var now = Environment.TickCount64;
        if (_lastCpu is { } last && now - last.At < CpuReadingLifetime.TotalMilliseconds)
            return last.Reading;
        var reading = Cpu();
        _lastCpu = new CpuSample(reading, now);
        return reading;
    }

    public static MemoryReading Cpu()
    {
        try
        {
            if (File.Exists("/proc/meminfo") && ParseMeminfo(File.ReadAllText("/proc/meminfo")) is { } reading)
                return reading;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        var gc = GC.GetGCMemoryInfo();
        var total = gc.TotalAvailableMemoryBytes;
        return new MemoryReading(Math.Max(0, total - gc.MemoryLoadBytes), total);
    }

    private sealed record CpuSample(MemoryReading Reading, long At);

    /// <summary>MemAvailable and MemTotal (in kB in the file); null when either is missing.</summary>
    public static MemoryReading? ParseMeminfo(string meminfo)
    {
        long? available = null, total = null;
        foreach (var line in meminfo.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                continue;
            if (parts[0] == "MemAvailable:")
                available = kb * 1024;
            else if (parts[0] == "MemTotal:")
                total = kb * 1024;
        }
        return available is { } a && total is { } t ? new MemoryReading(a, t) : null;
    }
}
