using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>A node of a sweep file, with the line it starts on and its offset (which orders nodes as the file does).</summary>
internal abstract record YamlValue(int Line, long Position);

/// <summary>A scalar. <paramref name="IsPlain"/>: unquoted and not tagged <c>!!str</c>, so it may be a number, bool or null.</summary>
internal sealed record YamlText(string Text, bool IsPlain, int Line, long Position) : YamlValue(Line, Position)
{
    /// <summary>YAML's spellings of null, written plain; an empty value (<c>steps:</c>) is null too.</summary>
    public bool IsNull => IsPlain && Text is "" or "~" or "null" or "Null" or "NULL";
}

internal sealed record YamlList(IReadOnlyList<YamlValue> Items, int Line, long Position) : YamlValue(Line, Position);

internal sealed record YamlMap(IReadOnlyList<YamlEntry> Entries, int Line, long Position) : YamlValue(Line, Position)
{
    public YamlEntry? Find(string key) => Entries.FirstOrDefault(e => e.Key == key);
}

/// <summary>A mapping entry; its line is the key's, which is where a reader looks for it.</summary>
internal sealed record YamlEntry(string Key, int Line, long Position, YamlValue Value);

/// <summary>
/// Reads YAML (and so JSON, which YAML's flow style covers) into a small tree that keeps line numbers.
/// We build the tree from YamlDotNet's parser events rather than use its RepresentationModel because that model stops
/// at the first duplicate key; here a duplicate is one more error among all the others.
/// </summary>
internal static class YamlTree
{
    private const string StrTag = "tag:yaml.org,2002:str";

    /// <summary>
    /// A sweep file nests four levels deep; the limit keeps a hostile file (sweeps arrive over the HTTP API) from
    /// overflowing the stack of this recursive reader, which would take the coordinator down.
    /// </summary>
    private const int MaxDepth = 32;

    /// <summary>The document's root, or null after adding the error that stopped the parse.</summary>
    public static YamlValue? Read(string text, ErrorList errors)
    {
        var builder = new Builder(new Parser(new StringReader(text)), errors);
        try
        {
            return builder.ReadSingleDocument();
        }
        catch (YamlException e)
        {
            errors.Add("", LineOf(e.Start), Sentence(e.Message));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 18.1's scanner throws this, without a position, on a flow collection that is never closed.
            errors.Add("", builder.LastLine, "the YAML cannot be parsed after this line; is a [ or { left unclosed?");
        }

        return null;
    }

    private static int LineOf(Mark mark) => (int)Math.Min(mark.Line, int.MaxValue);

    private static string Sentence(string message) =>
        message.Length > 0 ? char.ToLowerInvariant(message[0]) + message[1..].TrimEnd('.') : "the YAML cannot be parsed";

    private sealed class Builder(IParser parser, ErrorList errors)
    {
        private readonly Dictionary<string, YamlValue> _anchors = new(StringComparer.Ordinal);

        public int LastLine { get; private set; } = 1;

        public YamlValue? ReadSingleDocument()
        {
            Next<StreamStart>();
            if (parser.Current is StreamEnd)
            {
                errors.Add("", 1, "the file is empty");
                return null;
            }

            Next<DocumentStart>();
            YamlValue root = ReadNode("", depth: 0);
            Next<DocumentEnd>();
            if (parser.Current is not StreamEnd)
            {
                // Which document was meant is anyone's guess, so nothing in either is checked further.
                errors.Add("", LineOf(parser.Current!.Start), "a sweep file holds one YAML document; remove this '---' and what follows");
                return null;
            }

            return root;
        }

        private YamlValue ReadNode(string field, int depth)
        {
            ParsingEvent current = parser.Current ?? throw new YamlException("the file ends in the middle of a value");
            LastLine = LineOf(current.Start);
            if (depth > MaxDepth)
            {
                throw new YamlException(current.Start, current.End, $"values are nested more than {MaxDepth} levels deep");
            }

            return current switch
            {
                AnchorAlias alias => ReadAlias(alias),
                Scalar scalar => Remember(scalar, ReadScalar(scalar)),
                SequenceStart sequence => Remember(sequence, ReadList(sequence, field, depth)),
                MappingStart mapping => Remember(mapping, ReadMap(mapping, field, depth)),
                _ => throw new YamlException(current.Start, current.End, $"unexpected {current.GetType().Name}"),
            };
        }

        private YamlText ReadScalar(Scalar scalar)
        {
            Next<Scalar>();
            bool taggedString = !scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific && scalar.Tag.Value == StrTag;
            return new YamlText(scalar.Value, scalar.Style == ScalarStyle.Plain && !taggedString, LineOf(scalar.Start), scalar.Start.Index);
        }

        private YamlList ReadList(SequenceStart start, string field, int depth)
        {
            Next<SequenceStart>();
            var items = new List<YamlValue>();
            while (parser.Current is not SequenceEnd)
            {
                items.Add(ReadNode($"{field}[{items.Count}]", depth + 1));
            }

            Next<SequenceEnd>();
            return new YamlList(items, LineOf(start.Start), start.Start.Index);
        }

        private YamlMap ReadMap(MappingStart start, string field, int depth)
        {
            Next<MappingStart>();
            var entries = new List<YamlEntry>();
            var firstLines = new Dictionary<string, int>(StringComparer.Ordinal);
            while (parser.Current is not MappingEnd)
            {
                YamlValue key = ReadNode(field, depth + 1);
                string keyText = key is YamlText text ? text.Text : "";
                string path = field.Length == 0 ? keyText : $"{field}.{keyText}";
                YamlValue value = ReadNode(path, depth + 1);
                if (key is not YamlText)
                {
                    errors.Add(field, key.Line, "a key must be a plain name, not a list or mapping");
                }
                else if (!firstLines.TryAdd(keyText, key.Line))
                {
                    errors.Add(path, key.Line, $"duplicate key '{keyText}' (first given on line {firstLines[keyText]})");
                }
                else
                {
                    entries.Add(new YamlEntry(keyText, key.Line, key.Position, value));
                }
            }

            Next<MappingEnd>();
            return new YamlMap(entries, LineOf(start.Start), start.Start.Index);
        }

        // An alias stands for its anchor's node; it takes the alias's own line so errors point where the value is used.
        private YamlValue ReadAlias(AnchorAlias alias)
        {
            Next<AnchorAlias>();
            if (!_anchors.TryGetValue(alias.Value.Value, out YamlValue? target))
            {
                throw new YamlException(alias.Start, alias.End, $"no anchor &{alias.Value.Value} is defined before this alias");
            }

            return target with { Line = LineOf(alias.Start), Position = alias.Start.Index };
        }

        // Anchors are registered once their node is complete, so a node cannot contain an alias to itself.
        private YamlValue Remember(NodeEvent node, YamlValue value)
        {
            if (!node.Anchor.IsEmpty)
            {
                _anchors[node.Anchor.Value] = value;
            }

            return value;
        }

        private void Next<T>() where T : ParsingEvent
        {
            parser.Consume<T>();
        }
    }
}
