using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace KafkaClient.DevStack;

/// <summary>Forwards Kafka connections from a loopback port to one broker, and shows each Metadata request's auto-creatable topics to a callback before the broker sees it.</summary>
/// <remarks>
/// librdkafka's mock creates unknown topics named in a Metadata request with its own fixed number of partitions.
/// With every broker advertised at its proxy, every Metadata request passes through one, and the callback can
/// create the topics first with the partitions the user chose. Requests are forwarded byte for byte; responses
/// are not looked at.
/// </remarks>
internal sealed class BrokerProxy : IAsyncDisposable
{
    private const short MetadataApiKey = 3;
    private const int ChunkSize = 64 * 1024;
    private const int MaxInspectedRequest = 16 * 1024 * 1024;

    private readonly List<TcpListener> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Action<IReadOnlyList<string>> _beforeMetadata;

    private BrokerProxy(string targetHost, int targetPort, Action<IReadOnlyList<string>> beforeMetadata)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _beforeMetadata = beforeMetadata;
    }

    /// <summary>Gets the port it listens on.</summary>
    public int Port { get; private set; }

    /// <summary>Starts forwarding from a loopback port (IPv4, and IPv6 where available) to a broker.</summary>
    /// <param name="port">The port to listen on; 0 picks a free one.</param>
    /// <param name="targetHost">The broker's host.</param>
    /// <param name="targetPort">The broker's port.</param>
    /// <param name="beforeMetadata">Called with the topics a Metadata request may auto-create, before it is forwarded.</param>
    /// <returns>The running proxy.</returns>
    /// <exception cref="SocketException">The port is taken.</exception>
    public static BrokerProxy Start(int port, string targetHost, int targetPort, Action<IReadOnlyList<string>> beforeMetadata)
    {
        var proxy = new BrokerProxy(targetHost, targetPort, beforeMetadata);
        var v4 = new TcpListener(IPAddress.Loopback, port);
        v4.Start();
        proxy.Port = ((IPEndPoint)v4.LocalEndpoint).Port;
        proxy._listeners.Add(v4);
        try
        {
            var v6 = new TcpListener(IPAddress.IPv6Loopback, proxy.Port);
            v6.Start();
            proxy._listeners.Add(v6);
        }
        catch (SocketException)
        {
            // No IPv6 loopback here: IPv4 is enough.
        }

        foreach (var listener in proxy._listeners)
        {
            proxy._loops.Add(proxy.AcceptLoopAsync(listener));
        }

        return proxy;
    }

    /// <summary>Stops listening and closes forwarded connections.</summary>
    /// <returns>A task that completes when all loops have ended.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var listener in _listeners)
        {
            listener.Stop();
        }

        try
        {
            await Task.WhenAll(_loops);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping.
        }

        _stop.Dispose();
    }

    /// <summary>The topics a Metadata request names and allows the broker to create.</summary>
    /// <param name="request">The request after its size: header and body.</param>
    /// <returns>The names; empty when the request is not a Metadata request, allows no creation or cannot be read.</returns>
    internal static IReadOnlyList<string> AutoCreatableTopics(ReadOnlySpan<byte> request)
    {
        try
        {
            var reader = new Reader(request);
            if (reader.Int16() != MetadataApiKey)
            {
                return [];
            }

            var version = reader.Int16();
            _ = reader.Int32(); // correlation id
            var clientId = reader.Int16();
            reader.Skip(Math.Max((int)clientId, 0));
            var flexible = version >= 9;
            if (flexible)
            {
                reader.SkipTaggedFields();
            }

            var names = new List<string>();
            var count = flexible ? (int)reader.UnsignedVarint() - 1 : reader.Int32();
            for (var i = 0; i < count; i++)
            {
                if (version >= 10)
                {
                    reader.Skip(16); // topic id
                }

                var length = flexible ? (int)reader.UnsignedVarint() - 1 : reader.Int16();
                if (length > 0)
                {
                    names.Add(reader.Utf8(length));
                }

                if (flexible)
                {
                    reader.SkipTaggedFields();
                }
            }

            // Before version 4 a Metadata request always allows creation.
            var allowAutoTopicCreation = version < 4 || reader.Byte() != 0;
            return allowAutoTopicCreation ? names : [];
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or OverflowException)
        {
            // Not a well-formed request: forward it as it is and let the broker answer.
            return [];
        }
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = PipeAsync(client);
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                client.NoDelay = true;
                upstream.NoDelay = true;
                await upstream.ConnectAsync(_targetHost, _targetPort, _stop.Token);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var down = client.GetStream();
                var up = upstream.GetStream();
                await Task.WhenAny(ForwardRequestsAsync(down, up, both.Token), up.CopyToAsync(down, both.Token));
                await both.CancelAsync();
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A side closed: the connection ends.
            }
        }
    }

    private async Task ForwardRequestsAsync(NetworkStream down, NetworkStream up, CancellationToken cancellationToken)
    {
        var buffer = new byte[4 + ChunkSize];
        while (true)
        {
            try
            {
                await down.ReadExactlyAsync(buffer.AsMemory(0, 4), cancellationToken);
            }
            catch (EndOfStreamException)
            {
                return;
            }

            var size = BinaryPrimitives.ReadInt32BigEndian(buffer);
            if (size < 0)
            {
                // Not Kafka framing: pass everything on unread.
                await up.WriteAsync(buffer.AsMemory(0, 4), cancellationToken);
                await down.CopyToAsync(up, cancellationToken);
                return;
            }

            var first = Math.Min(size, ChunkSize);
            await down.ReadExactlyAsync(buffer.AsMemory(4, first), cancellationToken);
            var isMetadata = first >= 2 && BinaryPrimitives.ReadInt16BigEndian(buffer.AsSpan(4)) == MetadataApiKey;
            if (isMetadata && size == first)
            {
                Announce(buffer.AsSpan(4, size));
            }
            else if (isMetadata && size <= MaxInspectedRequest)
            {
                var whole = new byte[4 + size];
                buffer.AsSpan(0, 4 + first).CopyTo(whole);
                await down.ReadExactlyAsync(whole.AsMemory(4 + first), cancellationToken);
                Announce(whole.AsSpan(4));
                await up.WriteAsync(whole, cancellationToken);
                continue;
            }

            await up.WriteAsync(buffer.AsMemory(0, 4 + first), cancellationToken);
            for (var left = size - first; left > 0;)
            {
                var read = await down.ReadAsync(buffer.AsMemory(0, Math.Min(left, buffer.Length)), cancellationToken);
                if (read == 0)
                {
                    return;
                }

                await up.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                left -= read;
            }
        }
    }

    private void Announce(ReadOnlySpan<byte> request)
    {
        if (AutoCreatableTopics(request) is { Count: > 0 } topics)
        {
            _beforeMetadata(topics);
        }
    }

    /// <summary>Reads Kafka's big-endian and varint encodings; reading past the end throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public byte Byte() => Take(1)[0];

        public short Int16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

        public uint UnsignedVarint()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Byte();
                value |= (uint)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            throw new ArgumentOutOfRangeException(nameof(data), "A varint longer than 5 bytes.");
        }

        public string Utf8(int length) => Encoding.UTF8.GetString(Take(length));

        public void Skip(int length) => Take(length);

        public void SkipTaggedFields()
        {
            var count = UnsignedVarint();
            for (var i = 0u; i < count; i++)
            {
                _ = UnsignedVarint(); // tag
                Skip(checked((int)UnsignedVarint()));
            }
        }

        private ReadOnlySpan<byte> Take(int length)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _data.Length - _position);
            var taken = _data.Slice(_position, length);
            _position += length;
            return taken;
        }
    }
}
