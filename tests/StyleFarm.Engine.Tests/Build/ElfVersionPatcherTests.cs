using System.Text;
using StyleFarm.Build;

namespace StyleFarm.Engine.Tests.Build;

public class ElfVersionPatcherTests
{
    private const string Version = "GLIBCXX_3.4.32";

    [Fact]
    public void MarksTheNamedVersionWeakAndLeavesTheOthers()
    {
        byte[] elf = SyntheticElf.WithVersionsNeeded("GLIBCXX_3.4.30", Version, "GLIBCXX_3.4.19");
        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionPatcher.MarkVersionWeak(elf, Version));
        Assert.Equal(ElfVersionPatcher.VerFlagWeak, SyntheticElf.FlagsOf(elf, 1));
        Assert.Equal(0, SyntheticElf.FlagsOf(elf, 0));
        Assert.Equal(0, SyntheticElf.FlagsOf(elf, 2));
    }

    [Fact]
    public void PatchingTwiceChangesNothingMore()
    {
        byte[] elf = SyntheticElf.WithVersionsNeeded(Version);
        ElfVersionPatcher.MarkVersionWeak(elf, Version);
        byte[] once = (byte[])elf.Clone();
        Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionPatcher.MarkVersionWeak(elf, Version));
        Assert.Equal(once, elf);
    }

    [Fact]
    public void ALibraryThatDoesNotNeedTheVersionIsLeftAlone()
    {
        byte[] elf = SyntheticElf.WithVersionsNeeded("GLIBCXX_3.4.30");
        byte[] before = (byte[])elf.Clone();
        Assert.Equal(ElfPatchOutcome.NotNeeded, ElfVersionPatcher.MarkVersionWeak(elf, Version));
        Assert.Equal(before, elf);
    }

    [Fact]
    public void NonElfAndTruncatedFilesAreRefused()
    {
        Assert.Contains("not an ELF", Assert.Throws<InvalidDataException>(() =>
            ElfVersionPatcher.MarkVersionWeak(Encoding.ASCII.GetBytes(new string('x', 100)), Version, "x.so")).Message);
        byte[] truncated = SyntheticElf.WithVersionsNeeded(Version)[..200];
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.MarkVersionWeak(truncated, Version, "t.so")).Message);
    }

    [Fact]
    public void TheRealTorchSharpLibraryIsPatchedOnlyInOurOutput()
    {
        // The build patched the copy beside this test assembly...
        string output = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).First();
        byte[] built = File.ReadAllBytes(output);
        Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionPatcher.MarkVersionWeak(built, Version, output));

        // ...while the package's original still needs the version strictly, and patching a copy of it works.
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string original = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(original), $"TorchSharp's package is restored at {original}");
        string copy = Path.Combine(Path.GetTempPath(), $"libLibTorchSharp-{Guid.NewGuid():N}.so");
        File.Copy(original, copy);
        try
        {
            Assert.Equal(ElfPatchOutcome.Patched, ElfVersionPatcher.MarkVersionWeak(copy, Version));
            Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionPatcher.MarkVersionWeak(copy, Version));
            byte[] originalBytes = File.ReadAllBytes(original), patched = File.ReadAllBytes(copy);
            Assert.Equal(originalBytes.Length, patched.Length);
            Assert.Equal(1, originalBytes.Zip(patched).Count(p => p.First != p.Second));
        }
        finally { File.Delete(copy); }
    }
}

/// <summary>Builds the smallest ELF64 image the patcher reads: section headers, .dynstr and .gnu.version_r.</summary>
internal static class SyntheticElf
{
    private const int HeaderSize = 64, SectionHeaderSize = 64;
    private const int VerneedOffset = 0x100;

    public static byte[] WithVersionsNeeded(params string[] versions)
    {
        var strings = new MemoryStream();
        strings.WriteByte(0);
        int fileName = AddString(strings, "libstdc++.so.6");
        int[] names = versions.Select(v => AddString(strings, v)).ToArray();

        int verneedSize = 16 + 16 * versions.Length;
        int stringsOffset = VerneedOffset + verneedSize;
        int sectionTable = (stringsOffset + (int)strings.Length + 7) / 8 * 8;
        var elf = new byte[sectionTable + 3 * SectionHeaderSize];

        // ELF header: magic, 64-bit, little-endian; section table offset, entry size and count.
        elf[0] = 0x7f; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F'; elf[4] = 2; elf[5] = 1; elf[6] = 1;
        BitConverter.TryWriteBytes(elf.AsSpan(0x28), (ulong)sectionTable);
        BitConverter.TryWriteBytes(elf.AsSpan(0x3A), (ushort)SectionHeaderSize);
        BitConverter.TryWriteBytes(elf.AsSpan(0x3C), (ushort)3);

        // One Elf64_Verneed with its Elf64_Vernaux chain.
        BitConverter.TryWriteBytes(elf.AsSpan(VerneedOffset), (ushort)1);
        BitConverter.TryWriteBytes(elf.AsSpan(VerneedOffset + 2), (ushort)versions.Length);
        BitConverter.TryWriteBytes(elf.AsSpan(VerneedOffset + 4), (uint)fileName);
        BitConverter.TryWriteBytes(elf.AsSpan(VerneedOffset + 8), 16u);
        for (int i = 0; i < versions.Length; i++)
        {
            int aux = VerneedOffset + 16 + 16 * i;
            BitConverter.TryWriteBytes(elf.AsSpan(aux + 8), (uint)names[i]);
            BitConverter.TryWriteBytes(elf.AsSpan(aux + 12), i == versions.Length - 1 ? 0u : 16u);
        }
        strings.ToArray().CopyTo(elf, stringsOffset);

        // Section 1: .dynstr (SHT_STRTAB); section 2: .gnu.version_r linked to section 1, one entry.
        WriteSection(elf, sectionTable, 1, type: 3, offset: stringsOffset, size: (int)strings.Length, link: 0, info: 0);
        WriteSection(elf, sectionTable, 2, type: 0x6ffffffe, offset: VerneedOffset, size: verneedSize, link: 1, info: 1);
        return elf;
    }

    public static ushort FlagsOf(byte[] elf, int versionIndex) =>
        BitConverter.ToUInt16(elf, VerneedOffset + 16 + 16 * versionIndex + 4);

    private static int AddString(MemoryStream strings, string s)
    {
        int offset = (int)strings.Length;
        strings.Write(Encoding.ASCII.GetBytes(s));
        strings.WriteByte(0);
        return offset;
    }

    private static void WriteSection(byte[] elf, int table, int index, uint type, int offset, int size, uint link, uint info)
    {
        int header = table + index * SectionHeaderSize;
        BitConverter.TryWriteBytes(elf.AsSpan(header + 0x04), type);
        BitConverter.TryWriteBytes(elf.AsSpan(header + 0x18), (ulong)offset);
        BitConverter.TryWriteBytes(elf.AsSpan(header + 0x20), (ulong)size);
        BitConverter.TryWriteBytes(elf.AsSpan(header + 0x28), link);
        BitConverter.TryWriteBytes(elf.AsSpan(header + 0x2C), info);
    }
}
