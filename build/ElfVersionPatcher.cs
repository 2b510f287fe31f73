// Marks one version-needed entry of an ELF64 shared library as weak (VER_FLG_WEAK).
//
// Why: TorchSharp 0.107's libLibTorchSharp.so is linked with GCC 13 and lists GLIBCXX_3.4.32 as a needed
// version. The only symbol at that version is std::ios_base_library_init(), a link-time anchor that is
// never called. Debian 12 and Ubuntu 22.04 ship GCC 12's libstdc++ (up to GLIBCXX_3.4.30), so the loader
// refuses the library. With the entry marked weak, glibc only notes the missing version and loads it.
//
// This file is compiled twice: into the inline MSBuild task (build/TorchSharpNative.targets) and into the
// tests, which patch copies of real and synthetic libraries.
using System;
using System.IO;
using System.Text;
#if !ELF_PATCHER_ONLY
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
#endif

namespace StyleFarm.Build
{
    public enum ElfPatchOutcome
    {
        /// <summary>The entry was found and its weak flag set now.</summary>
        Patched,
        /// <summary>The entry was already weak: nothing written.</summary>
        AlreadyWeak,
        /// <summary>The library does not ask for that version: nothing written.</summary>
        NotNeeded,
    }

    public static class ElfVersionPatcher
    {
        public const ushort VerFlagWeak = 0x2;
        private const uint ShtGnuVerneed = 0x6ffffffe;

        public static ElfPatchOutcome MarkVersionWeak(string path, string versionName)
        {
            byte[] elf = File.ReadAllBytes(path);
            ElfPatchOutcome outcome = MarkVersionWeak(elf, versionName, path);
            if (outcome == ElfPatchOutcome.Patched)
            {
                // Write beside and rename, so a reader never sees half a library.
                string temp = path + ".patching";
                File.WriteAllBytes(temp, elf);
                File.Copy(temp, path, overwrite: true);
                File.Delete(temp);
            }
            return outcome;
        }

        /// <summary>Patches the image in memory. <paramref name="source"/> only names it in errors.</summary>
        public static ElfPatchOutcome MarkVersionWeak(byte[] elf, string versionName, string source = "ELF image")
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException($"{source}: not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException($"{source}: only 64-bit little-endian ELF is supported");

            ulong sectionTable = ReadU64(elf, 0x28, source);
            ushort sectionSize = ReadU16(elf, 0x3A, source);
            ushort sectionCount = ReadU16(elf, 0x3C, source);

            bool foundVerneed = false;
            for (int i = 0; i < sectionCount; i++)
            {
                long header = checked((long)sectionTable + (long)i * sectionSize);
                if (ReadU32(elf, header + 0x04, source) != ShtGnuVerneed) continue;
                foundVerneed = true;

                long verneedOffset = (long)ReadU64(elf, header + 0x18, source);
                uint linkedStrings = ReadU32(elf, header + 0x28, source);
                uint verneedCount = ReadU32(elf, header + 0x2C, source);
                long stringsHeader = checked((long)sectionTable + (long)linkedStrings * sectionSize);
                long stringsOffset = (long)ReadU64(elf, stringsHeader + 0x18, source);

                ElfPatchOutcome? outcome = PatchVerneedChain(elf, verneedOffset, verneedCount, stringsOffset, versionName, source);
                if (outcome.HasValue) return outcome.Value;
            }
            if (!foundVerneed) return ElfPatchOutcome.NotNeeded;
            return ElfPatchOutcome.NotNeeded;
        }

        private static ElfPatchOutcome? PatchVerneedChain(byte[] elf, long verneed, uint count, long strings, string versionName, string source)
        {
            for (uint n = 0; n < count; n++)
            {
                // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32
                ushort auxCount = ReadU16(elf, verneed + 2, source);
                long aux = verneed + ReadU32(elf, verneed + 8, source);
                for (int a = 0; a < auxCount; a++)
                {
                    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32
                    string name = ReadCString(elf, strings + ReadU32(elf, aux + 8, source), source);
                    if (name == versionName)
                    {
                        ushort flags = ReadU16(elf, aux + 4, source);
                        if ((flags & VerFlagWeak) != 0) return ElfPatchOutcome.AlreadyWeak;
                        WriteU16(elf, aux + 4, (ushort)(flags | VerFlagWeak));
                        return ElfPatchOutcome.Patched;
                    }
                    uint nextAux = ReadU32(elf, aux + 12, source);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = ReadU32(elf, verneed + 12, source);
                if (next == 0) break;
                verneed += next;
            }
            return null;
        }

        private static void Check(byte[] elf, long offset, int size, string source)
        {
            if (offset < 0 || offset + size > elf.Length)
                throw new InvalidDataException($"{source}: truncated ELF (offset {offset} is past its end)");
        }

        private static ushort ReadU16(byte[] b, long o, string s) { Check(b, o, 2, s); return (ushort)(b[o] | b[o + 1] << 8); }
        private static uint ReadU32(byte[] b, long o, string s) { Check(b, o, 4, s); return BitConverter.ToUInt32(b, (int)o); }
        private static ulong ReadU64(byte[] b, long o, string s) { Check(b, o, 8, s); return BitConverter.ToUInt64(b, (int)o); }
        private static void WriteU16(byte[] b, long o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }

        private static string ReadCString(byte[] b, long o, string s)
        {
            Check(b, o, 1, s);
            long end = o;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)o, (int)(end - o));
        }
    }
}

#if !ELF_PATCHER_ONLY
// The MSBuild face of the patcher (the tests compile this file with ELF_PATCHER_ONLY).
public class PatchTorchSharpNative : Microsoft.Build.Utilities.Task
{
    [Required] public ITaskItem[] Libraries { get; set; } = new ITaskItem[0];
    [Required] public string VersionName { get; set; } = "";

    public override bool Execute()
    {
        foreach (ITaskItem item in Libraries)
        {
            string path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            StyleFarm.Build.ElfPatchOutcome outcome = StyleFarm.Build.ElfVersionPatcher.MarkVersionWeak(path, VersionName);
            Log.LogMessage(MessageImportance.Low, "{0}: {1} {2}", path, VersionName, outcome);
        }
        return !Log.HasLoggedErrors;
    }
}
#endif
