using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace StyleFarm.Engine.Weights;

/// <summary>
/// A Python pickle interpreter for the subset <c>torch.save</c> writes (protocols 2 to 4). It never runs code:
/// a call to a global becomes an inert <see cref="PyObject"/> unless a <see cref="Reducer"/> knows it, which is
/// how tensors, parameters and OrderedDicts come back. We own it rather than use Razorvine.Pickle because
/// Razorvine's constructor registry is process-global, and TorchSharp.PyBridge already claims the torch names in it.
/// </summary>
internal sealed class PickleReader
{
    /// <summary>Turns a call of <paramref name="callable"/> with <paramref name="args"/> into a value, or null to keep it inert.</summary>
    public delegate object? Reducer(PyGlobal callable, object?[] args);

    private static readonly object Mark = new();

    private readonly BinaryReader _in;
    private readonly Func<object?, object?> _persistentLoad;
    private readonly Reducer _reduce;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];

    private PickleReader(Stream stream, Func<object?, object?> persistentLoad, Reducer reduce)
    {
        _in = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        _persistentLoad = persistentLoad;
        _reduce = reduce;
    }

    /// <summary>
    /// Reads one pickle from the stream's position up to its STOP opcode and leaves the stream just past it,
    /// so the legacy format's several pickles in a row can be read one after the other.
    /// </summary>
    public static object? Load(Stream stream, Func<object?, object?> persistentLoad, Reducer reduce) =>
        new PickleReader(stream, persistentLoad, reduce).Run();

    private object? Run()
    {
        while (true)
        {
            var opcode = _in.ReadByte();
            if (opcode == (byte)'.')
            {
                return Pop();
            }
            Execute(opcode);
        }
    }

    private void Execute(byte opcode)
    {
        switch (opcode)
        {
            case 0x80: _in.ReadByte(); break;                          // PROTO
            case 0x95: _in.ReadInt64(); break;                         // FRAME: a size hint only
            case (byte)'(': _marks.Add(_stack.Count); break;           // MARK
            case (byte)'0': Pop(); break;                              // POP
            case (byte)'1': PopToMark(); break;                        // POP_MARK
            case (byte)'2': Push(Top()); break;                   // DUP

            case (byte)'N': Push(null); break;
            case 0x88: Push(true); break;
            case 0x89: Push(false); break;
            case (byte)'J': Push((long)_in.ReadInt32()); break;        // BININT
            case (byte)'K': Push((long)_in.ReadByte()); break;         // BININT1
            case (byte)'M': Push((long)_in.ReadUInt16()); break;       // BININT2
            case 0x8a: Push(LittleEndianInteger(_in.ReadByte())); break;   // LONG1
            case 0x8b: Push(LittleEndianInteger(_in.ReadInt32())); break;  // LONG4
            case (byte)'I': Push(TextInteger(ReadLine())); break;      // INT
            case (byte)'L': Push(TextInteger(ReadLine().TrimEnd('L'))); break; // LONG
            case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
            case (byte)'F': Push(double.Parse(ReadLine(), System.Globalization.CultureInfo.InvariantCulture)); break;

            case (byte)'X': Push(Encoding.UTF8.GetString(ReadBytes(_in.ReadInt32()))); break;     // BINUNICODE
            case 0x8c: Push(Encoding.UTF8.GetString(ReadBytes(_in.ReadByte()))); break;          // SHORT_BINUNICODE
            case 0x8d: Push(Encoding.UTF8.GetString(ReadBytes(LongLength()))); break; // BINUNICODE8
            case (byte)'V': Push(ReadLine()); break;                                              // UNICODE (ASCII in practice)
            // Python 2 str: torch files written by Python 2 hold names as byte strings.
            case (byte)'T': Push(Encoding.Latin1.GetString(ReadBytes(_in.ReadInt32()))); break;   // BINSTRING
            case (byte)'U': Push(Encoding.Latin1.GetString(ReadBytes(_in.ReadByte()))); break;    // SHORT_BINSTRING
            case (byte)'S': Push(ReadLine().Trim('\'', '"')); break;                              // STRING
            case (byte)'B': Push(ReadBytes(_in.ReadInt32())); break;                              // BINBYTES
            case (byte)'C': Push(ReadBytes(_in.ReadByte())); break;                               // SHORT_BINBYTES
            case 0x8e: Push(ReadBytes(LongLength())); break;                                     // BINBYTES8

            case (byte)')': Push(Array.Empty<object?>()); break;       // EMPTY_TUPLE
            case (byte)'t': Push(PopToMark().ToArray()); break;        // TUPLE
            case 0x85: Push(new[] { Pop() }); break;                   // TUPLE1
            case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }          // TUPLE2
            case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
            case (byte)']': Push(new List<object?>()); break;          // EMPTY_LIST
            case (byte)'l': Push(PopToMark()); break;                  // LIST
            case (byte)'a': { var item = Pop(); AppendTo(Top(), [item]); break; }         // APPEND
            case (byte)'e': { var items = PopToMark(); AppendTo(Top(), items); break; }   // APPENDS
            case (byte)'}': Push(new PyDict()); break;                 // EMPTY_DICT
            case (byte)'d': Push(DictOf(PopToMark())); break;          // DICT
            case (byte)'s': { var value = Pop(); var key = Pop(); SetItems(Top(), [key, value]); break; } // SETITEM
            case (byte)'u': { var items = PopToMark(); SetItems(Top(), items); break; }   // SETITEMS
            case 0x8f: Push(new List<object?>()); break;               // EMPTY_SET: a list will do, nothing reads it
            case 0x90: { var items = PopToMark(); AppendTo(Top(), items); break; }        // ADDITEMS
            case 0x91: Push(PopToMark()); break;                       // FROZENSET

            case (byte)'q': _memo[_in.ReadByte()] = Top(); break;                         // BINPUT
            case (byte)'r': _memo[_in.ReadUInt32()] = Top(); break;                       // LONG_BINPUT
            case (byte)'p': _memo[long.Parse(ReadLine())] = Top(); break;                 // PUT
            case 0x94: _memo[_memo.Count] = Top(); break;                                 // MEMOIZE
            case (byte)'h': Push(Recall(_in.ReadByte())); break;                               // BINGET
            case (byte)'j': Push(Recall(_in.ReadUInt32())); break;                             // LONG_BINGET
            case (byte)'g': Push(Recall(long.Parse(ReadLine()))); break;                       // GET

            case (byte)'c': Push(new PyGlobal(ReadLine(), ReadLine())); break;                 // GLOBAL
            case 0x93: { var name = Pop() as string; var module = Pop() as string; Push(StackGlobal(module, name)); break; } // STACK_GLOBAL
            case (byte)'R': { var args = AsArgs(Pop()); Push(Call(Pop(), args)); break; }      // REDUCE
            case 0x81: { var args = AsArgs(Pop()); Push(Call(Pop(), args)); break; }           // NEWOBJ
            case 0x92: { Pop(); var args = AsArgs(Pop()); Push(Call(Pop(), args)); break; }    // NEWOBJ_EX (kwargs dropped)
            case (byte)'b': { var state = Pop(); Build(Top(), state); break; }            // BUILD
            case (byte)'Q': Push(_persistentLoad(Pop())); break;                               // BINPERSID
            case (byte)'P': Push(_persistentLoad(ReadLine())); break;                          // PERSID

            default:
                throw new InvalidDataException($"pickle opcode 0x{opcode:x2} is not one torch.save writes");
        }
    }

    private static PyGlobal StackGlobal(string? module, string? name) => module is not null && name is not null
        ? new PyGlobal(module, name)
        : throw new InvalidDataException("pickle names a global with something other than strings");

    private object? Call(object? callable, object?[] args)
    {
        if (callable is not PyGlobal global)
        {
            throw new InvalidDataException("pickle calls something that is not a global");
        }
        return _reduce(global, args) ?? new PyObject(global, args);
    }

    private static object?[] AsArgs(object? args) => args as object?[]
        ?? throw new InvalidDataException("pickle passes call arguments that are not a tuple");

    private static void AppendTo(object? target, List<object?> items)
    {
        switch (target)
        {
            case List<object?> list: list.AddRange(items); break;
            case PyObject obj: obj.ListItems.AddRange(items); break;
            default: throw new InvalidDataException("pickle appends to something that is not a list");
        }
    }

    private static void SetItems(object? target, List<object?> keysAndValues)
    {
        var dict = target switch
        {
            PyDict d => d,
            PyObject obj => obj.DictItems,
            _ => throw new InvalidDataException("pickle sets items on something that is not a dict"),
        };
        for (var i = 0; i + 1 < keysAndValues.Count; i += 2)
        {
            dict.Set(keysAndValues[i]!, keysAndValues[i + 1]);
        }
    }

    private static PyDict DictOf(List<object?> keysAndValues)
    {
        var dict = new PyDict();
        SetItems(dict, keysAndValues);
        return dict;
    }

    /// <summary>An object's __setstate__: kept on inert objects; a state dict's own "_metadata" is dropped.</summary>
    private static void Build(object? target, object? state)
    {
        if (target is PyObject obj)
        {
            obj.State = state;
        }
    }

    private object? Recall(long index) => _memo.TryGetValue(index, out var value)
        ? value
        : throw new InvalidDataException($"pickle recalls memo entry {index}, which was never stored");

    private void Push(object? value) => _stack.Add(value);

    private object? Top() => _stack.Count > 0 ? _stack[^1] : throw new InvalidDataException("pickle reads an empty stack");

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks[^1] == _stack.Count))
        {
            throw new InvalidDataException("pickle pops an empty stack");
        }
        var value = Top();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0)
        {
            throw new InvalidDataException("pickle expects a MARK that is not there");
        }
        var start = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    /// <summary>Names and small values only live inside a state dict pickle; a longer run means a corrupt length.</summary>
    private const int MaxInlineBytes = 64 << 20;

    private byte[] ReadBytes(int count)
    {
        if (count is < 0 or > MaxInlineBytes)
        {
            throw new InvalidDataException($"pickle declares a value of {count} bytes; the file is corrupt");
        }
        var bytes = _in.ReadBytes(count);
        return bytes.Length == count ? bytes : throw new EndOfStreamException();
    }

    private int LongLength()
    {
        var length = _in.ReadInt64();
        return length is >= 0 and <= MaxInlineBytes ? (int)length : throw new InvalidDataException($"pickle declares a value of {length} bytes; the file is corrupt");
    }

    private string ReadLine()
    {
        var text = new StringBuilder();
        for (var b = _in.ReadByte(); b != (byte)'\n'; b = _in.ReadByte())
        {
            text.Append((char)b);
        }
        return text.ToString();
    }

    /// <summary>LONG1/LONG4: little-endian two's complement; a long when it fits (torch's legacy magic number does not).</summary>
    private object LittleEndianInteger(int length)
    {
        var value = new BigInteger(ReadBytes(length), isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    private static object TextInteger(string text) => text switch
    {
        "00" => false, // protocol 0 spells the booleans as INT 00 / 01
        "01" => true,
        _ => long.TryParse(text, out var small) ? small : BigInteger.Parse(text),
    };
}

/// <summary>A Python global (module and name), such as <c>torch.FloatStorage</c>.</summary>
internal sealed record PyGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A Python dict in insertion order; keys are strings or numbers.</summary>
internal sealed class PyDict
{
    private readonly Dictionary<object, int> _index = [];

    public List<KeyValuePair<object, object?>> Items { get; } = [];

    public void Set(object key, object? value)
    {
        if (_index.TryGetValue(key, out var at))
        {
            Items[at] = new(key, value);
            return;
        }
        _index[key] = Items.Count;
        Items.Add(new(key, value));
    }

    public bool TryGet(object key, out object? value)
    {
        var found = _index.TryGetValue(key, out var at);
        value = found ? Items[at].Value : null;
        return found;
    }
}

/// <summary>An object the reader does not construct: what was called, with what, and what was set on it.</summary>
internal sealed class PyObject(PyGlobal type, object?[] args)
{
    public PyGlobal Type { get; } = type;

    public object?[] Args { get; } = args;

    public object? State { get; set; }

    public PyDict DictItems { get; } = new();

    public List<object?> ListItems { get; } = [];
}
