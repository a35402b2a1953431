namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>
/// The order in which Java 17 iterates a <c>HashSet</c> made as Confluent's Protobuf rules make theirs:
/// <c>new HashSet&lt;&gt;(a.keySet())</c> then <c>addAll(b.keySet())</c>, where <c>a</c> and <c>b</c> are
/// <c>HashMap</c>s filled in declaration order. The rules report differences in that order, so matching their
/// change lists means iterating the same way.
/// </summary>
/// <remarks>
/// A simulation of Java's hash table: buckets by the key's hash spread by <c>h ^ (h &gt;&gt;&gt; 16)</c> and masked by
/// the capacity, iterated in bucket order; a bucket is a list in insertion order (resizing keeps the order) until it
/// holds more than 8 keys in a table of 64 buckets or more (a smaller table doubles instead), when it becomes a
/// red-black tree whose root is moved to the front of the bucket's list, and new keys go into the list right after
/// their parent in the tree. Keys here are strings and integers, which Java orders by their natural order when
/// their hashes tie, so the trees are deterministic. The set made from a collection starts with
/// <c>tableSizeFor(max(n / 0.75 + 1, 16))</c> buckets as in Java 17 (Confluent builds with it; Java 19 and later
/// start with fewer, which changes the order for 12, 24, 48 ... names).
/// </remarks>
internal static class JavaHashOrder
{
    /// <summary>Gets Java's <c>String.hashCode</c>.</summary>
    /// <param name="value">The string.</param>
    /// <returns>The hash over its UTF-16 code units.</returns>
    public static int StringHash(string value)
    {
        var hash = 0;
        foreach (var c in value)
        {
            hash = unchecked((31 * hash) + c);
        }

        return hash;
    }

    /// <summary>Orders the union of two maps' string keys as Java iterates the set built from them.</summary>
    /// <param name="first">The first map's keys, in the order they were put.</param>
    /// <param name="second">The second map's keys, in the order they were put.</param>
    /// <returns>The distinct keys of both, in Java's iteration order.</returns>
    public static List<string> Union(IEnumerable<string> first, IEnumerable<string> second) =>
        Union(first, second, StringHash, string.CompareOrdinal);

    /// <summary>Orders the union of two maps' integer keys as Java iterates the set built from them.</summary>
    /// <param name="first">The first map's keys, in the order they were put.</param>
    /// <param name="second">The second map's keys, in the order they were put.</param>
    /// <returns>The distinct keys of both, in Java's iteration order.</returns>
    public static List<int> Union(IEnumerable<int> first, IEnumerable<int> second) =>
        Union(first, second, static v => v, static (a, b) => a.CompareTo(b));

    private static List<T> Union<T>(IEnumerable<T> first, IEnumerable<T> second, Func<T, int> hash, Comparison<T> compare)
        where T : notnull
    {
        var firstOrder = MapOrder(first, hash, compare);
        var secondOrder = MapOrder(second, hash, compare);
        var set = new Table<T>(TableSizeFor(Math.Max((int)(firstOrder.Count / 0.75f) + 1, 16)), hash, compare);
        foreach (var key in firstOrder)
        {
            set.Add(key);
        }

        foreach (var key in secondOrder)
        {
            set.Add(key);
        }

        return set.Keys();
    }

    private static List<T> MapOrder<T>(IEnumerable<T> keys, Func<T, int> hash, Comparison<T> compare)
        where T : notnull
    {
        var map = new Table<T>(16, hash, compare);
        foreach (var key in keys)
        {
            map.Add(key);
        }

        return map.Keys();
    }

    private static int TableSizeFor(int capacity)
    {
        var size = 1;
        while (size < capacity && size < (1 << 30))
        {
            size <<= 1;
        }

        return size;
    }

    /// <summary>A key in a bucket: in the bucket's list, and in its tree once the bucket is one.</summary>
    private sealed class Node<T>(T key, int hash)
    {
        public T Key { get; } = key;

        public int Hash { get; } = hash;

        public Node<T>? Next { get; set; }

        public Node<T>? Prev { get; set; }

        public Node<T>? Parent { get; set; }

        public Node<T>? Left { get; set; }

        public Node<T>? Right { get; set; }

        public bool Red { get; set; }
    }

    private sealed class Table<T>(int capacity, Func<T, int> hash, Comparison<T> compare)
        where T : notnull
    {
        private const int TreeifyThreshold = 8;
        private const int UntreeifyThreshold = 6;
        private const int MinTreeifyCapacity = 64;

        private readonly HashSet<T> _present = [];
        private Node<T>?[] _table = new Node<T>?[capacity];
        private bool[] _isTree = new bool[capacity];
        private int _threshold = (int)(capacity * 0.75f);

        public void Add(T key)
        {
            if (!_present.Add(key))
            {
                return; // putting a present key keeps its place
            }

            var h = hash(key);
            var spread = h ^ (int)((uint)h >> 16);
            var index = spread & (_table.Length - 1);
            var first = _table[index];
            if (first is null)
            {
                _table[index] = new Node<T>(key, spread);
            }
            else if (_isTree[index])
            {
                PutInTree(index, new Node<T>(key, spread));
            }
            else
            {
                var count = 1;
                var last = first;
                while (last.Next is not null)
                {
                    last = last.Next;
                    count++;
                }

                last.Next = new Node<T>(key, spread);
                if (count >= TreeifyThreshold)
                {
                    TreeifyBin(index);
                }
            }

            if (_present.Count > _threshold)
            {
                Resize();
            }
        }

        public List<T> Keys()
        {
            var keys = new List<T>(_present.Count);
            foreach (var first in _table)
            {
                for (var node = first; node is not null; node = node.Next)
                {
                    keys.Add(node.Key);
                }
            }

            return keys;
        }

        private int Direction(Node<T> node, Node<T> other) =>
            other.Hash > node.Hash ? -1 : other.Hash < node.Hash ? 1 : compare(node.Key, other.Key);

        private void TreeifyBin(int index)
        {
            if (_table.Length < MinTreeifyCapacity)
            {
                Resize();
                return;
            }

            Node<T>? previous = null;
            for (var node = _table[index]; node is not null; node = node.Next)
            {
                node.Prev = previous;
                previous = node;
            }

            Treeify(index);
        }

        /// <summary>Builds a red-black tree of a bucket's list, inserting in list order, and moves its root to the front.</summary>
        private void Treeify(int index)
        {
            Node<T>? root = null;
            for (var x = _table[index]; x is not null; x = x.Next)
            {
                x.Left = x.Right = null;
                if (root is null)
                {
                    x.Parent = null;
                    x.Red = false;
                    root = x;
                    continue;
                }

                for (var p = root; ;)
                {
                    var dir = Direction(x, p);
                    var child = dir <= 0 ? p.Left : p.Right;
                    if (child is null)
                    {
                        x.Parent = p;
                        if (dir <= 0)
                        {
                            p.Left = x;
                        }
                        else
                        {
                            p.Right = x;
                        }

                        root = BalanceInsertion(root, x);
                        break;
                    }

                    p = child;
                }
            }

            _isTree[index] = true;
            MoveRootToFront(index, root!);
        }

        private void PutInTree(int index, Node<T> x)
        {
            var root = _table[index]!;
            while (root.Parent is not null)
            {
                root = root.Parent;
            }

            for (var p = root; ;)
            {
                var dir = Direction(x, p);
                var child = dir <= 0 ? p.Left : p.Right;
                if (child is null)
                {
                    // Into the tree under p, and into the list right after p.
                    var after = p.Next;
                    if (dir <= 0)
                    {
                        p.Left = x;
                    }
                    else
                    {
                        p.Right = x;
                    }

                    x.Next = after;
                    p.Next = x;
                    x.Parent = x.Prev = p;
                    if (after is not null)
                    {
                        after.Prev = x;
                    }

                    MoveRootToFront(index, BalanceInsertion(root, x));
                    return;
                }

                p = child;
            }
        }

        private void MoveRootToFront(int index, Node<T> root)
        {
            var first = _table[index];
            if (ReferenceEquals(root, first))
            {
                return;
            }

            _table[index] = root;
            var previous = root.Prev;
            if (root.Next is { } next)
            {
                next.Prev = previous;
            }

            if (previous is not null)
            {
                previous.Next = root.Next;
            }

            if (first is not null)
            {
                first.Prev = root;
            }

            root.Next = first;
            root.Prev = null;
        }

        private static Node<T> BalanceInsertion(Node<T> root, Node<T> x)
        {
            x.Red = true;
            while (true)
            {
                var xp = x.Parent;
                if (xp is null)
                {
                    x.Red = false;
                    return x;
                }

                var xpp = xp.Parent;
                if (!xp.Red || xpp is null)
                {
                    return root;
                }

                if (ReferenceEquals(xp, xpp.Left))
                {
                    var uncle = xpp.Right;
                    if (uncle is { Red: true })
                    {
                        uncle.Red = false;
                        xp.Red = false;
                        xpp.Red = true;
                        x = xpp;
                        continue;
                    }

                    if (ReferenceEquals(x, xp.Right))
                    {
                        x = xp;
                        root = RotateLeft(root, x);
                        xp = x.Parent;
                        xpp = xp?.Parent;
                    }

                    if (xp is not null)
                    {
                        xp.Red = false;
                        if (xpp is not null)
                        {
                            xpp.Red = true;
                            root = RotateRight(root, xpp);
                        }
                    }
                }
                else
                {
                    var uncle = xpp.Left;
                    if (uncle is { Red: true })
                    {
                        uncle.Red = false;
                        xp.Red = false;
                        xpp.Red = true;
                        x = xpp;
                        continue;
                    }

                    if (ReferenceEquals(x, xp.Left))
                    {
                        x = xp;
                        root = RotateRight(root, x);
                        xp = x.Parent;
                        xpp = xp?.Parent;
                    }

                    if (xp is not null)
                    {
                        xp.Red = false;
                        if (xpp is not null)
                        {
                            xpp.Red = true;
                            root = RotateLeft(root, xpp);
                        }
                    }
                }
            }
        }

        private static Node<T> RotateLeft(Node<T> root, Node<T> p)
        {
            if (p.Right is not { } r)
            {
                return root;
            }

            p.Right = r.Left;
            if (r.Left is not null)
            {
                r.Left.Parent = p;
            }

            r.Parent = p.Parent;
            if (r.Parent is null)
            {
                root = r;
                r.Red = false;
            }
            else if (ReferenceEquals(r.Parent.Left, p))
            {
                r.Parent.Left = r;
            }
            else
            {
                r.Parent.Right = r;
            }

            r.Left = p;
            p.Parent = r;
            return root;
        }

        private static Node<T> RotateRight(Node<T> root, Node<T> p)
        {
            if (p.Left is not { } l)
            {
                return root;
            }

            p.Left = l.Right;
            if (l.Right is not null)
            {
                l.Right.Parent = p;
            }

            l.Parent = p.Parent;
            if (l.Parent is null)
            {
                root = l;
                l.Red = false;
            }
            else if (ReferenceEquals(l.Parent.Right, p))
            {
                l.Parent.Right = l;
            }
            else
            {
                l.Parent.Left = l;
            }

            l.Right = p;
            p.Parent = l;
            return root;
        }

        /// <summary>Doubles the table: each bucket splits into a low and a high one, each keeping its list order.</summary>
        private void Resize()
        {
            var old = _table;
            var oldTree = _isTree;
            var bit = old.Length;
            _table = new Node<T>?[bit * 2];
            _isTree = new bool[bit * 2];
            _threshold *= 2;
            for (var j = 0; j < old.Length; j++)
            {
                Node<T>? loHead = null, loTail = null, hiHead = null, hiTail = null;
                int lo = 0, hi = 0;
                for (var e = old[j]; e is not null;)
                {
                    var next = e.Next;
                    e.Next = null;
                    if ((e.Hash & bit) == 0)
                    {
                        e.Prev = loTail;
                        if (loTail is null)
                        {
                            loHead = e;
                        }
                        else
                        {
                            loTail.Next = e;
                        }

                        loTail = e;
                        lo++;
                    }
                    else
                    {
                        e.Prev = hiTail;
                        if (hiTail is null)
                        {
                            hiHead = e;
                        }
                        else
                        {
                            hiTail.Next = e;
                        }

                        hiTail = e;
                        hi++;
                    }

                    e = next;
                }

                Place(j, loHead, lo, oldTree[j], hiHead is not null);
                Place(j + bit, hiHead, hi, oldTree[j], loHead is not null);
            }
        }

        private void Place(int index, Node<T>? head, int count, bool wasTree, bool otherHalf)
        {
            if (head is null)
            {
                return;
            }

            _table[index] = head;
            if (!wasTree)
            {
                return;
            }

            if (count <= UntreeifyThreshold)
            {
                for (var node = head; node is not null; node = node.Next)
                {
                    node.Prev = node.Parent = node.Left = node.Right = null;
                    node.Red = false;
                }
            }
            else if (otherHalf)
            {
                Treeify(index);
            }
            else
            {
                _isTree[index] = true; // the whole tree moved as it was
            }
        }
    }
}
