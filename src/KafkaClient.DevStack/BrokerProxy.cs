using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace KafkaClient.DevStack;

/// <summary>Forwards Kafka connections from a loopback port to one broker; shows each Metadata request's auto-creatable topics to a callback before the broker sees it, and answers CreateTopics itself.</summary>
/// <remarks>
/// <para>
/// librdkafka's mock creates unknown topics named in a Metadata request with its own fixed number of partitions.
/// With every broker advertised at its proxy, every Metadata request passes through one, and the callback can
/// create the topics first with the partitions the user chose.
/// </para>
/// <para>
/// The mock has no CreateTopics, so admin clients refuse to send it (librdkafka: "Topic Admin API (KIP-4) not
/// supported by broker"). The proxy adds CreateTopics versions 0 to 4 to the broker's ApiVersions responses, and
/// answers CreateTopics requests through another callback instead of forwarding them. Responses go back in the order
/// of their requests, as Kafka's protocol promises (Java clients check it). Everything else is forwarded byte for byte.
/// </para>
/// </remarks>
internal sealed class BrokerProxy : IAsyncDisposable
{
    private const int ChunkSize = 64 * 1024;
    private const int MaxInspectedRequest = 16 * 1024 * 1024;

    private readonly List<TcpListener> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Action<IReadOnlyList<string>> _beforeMetadata;
    private readonly Func<CreateTopicsRequest, Task<IReadOnlyList<CreateTopicResult>>> _createTopics;

    private BrokerProxy(string targetHost, int targetPort, Action<IReadOnlyList<string>> beforeMetadata, Func<CreateTopicsRequest, Task<IReadOnlyList<CreateTopicResult>>> createTopics)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _beforeMetadata = beforeMetadata;
        _createTopics = createTopics;
    }

    /// <summary>Gets the port it listens on.</summary>
    public int Port { get; private set; }

    /// <summary>Starts forwarding from a loopback port (IPv4, and IPv6 where available) to a broker.</summary>
    /// <param name="port">The port to listen on; 0 picks a free one.</param>
    /// <param name="targetHost">The broker's host.</param>
    /// <param name="targetPort">The broker's port.</param>
    /// <param name="beforeMetadata">Called with the topics a Metadata request may auto-create, before it is forwarded.</param>
    /// <param name="createTopics">Answers a CreateTopics request: each topic's outcome, in the request's order.</param>
    /// <returns>The running proxy.</returns>
    /// <exception cref="SocketException">The port is taken.</exception>
    public static BrokerProxy Start(int port, string targetHost, int targetPort, Action<IReadOnlyList<string>> beforeMetadata, Func<CreateTopicsRequest, Task<IReadOnlyList<CreateTopicResult>>> createTopics)
    {
        var proxy = new BrokerProxy(targetHost, targetPort, beforeMetadata, createTopics);
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
                using var connection = new Connection(client.GetStream());
                var up = upstream.GetStream();
                var requests = ForwardRequestsAsync(connection, up, both.Token);
                var responses = ForwardResponsesAsync(up, connection, both.Token);
                await Task.WhenAny(requests, responses);
                await both.CancelAsync();

                // Both directions end before the connection's state goes.
                await Task.WhenAll(requests, responses);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A side closed: the connection ends.
            }
        }
    }

    private async Task ForwardRequestsAsync(Connection connection, NetworkStream up, CancellationToken cancellationToken)
    {
        var down = connection.Client;
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
            var header = KafkaProtocol.ReadHeader(buffer.AsSpan(4, first));
            var apiKey = header?.ApiKey;
            byte[]? whole = null;
            if (apiKey is KafkaProtocol.MetadataApiKey or KafkaProtocol.CreateTopicsApiKey && size <= MaxInspectedRequest)
            {
                whole = new byte[4 + size];
                buffer.AsSpan(0, 4 + first).CopyTo(whole);
                await down.ReadExactlyAsync(whole.AsMemory(4 + first), cancellationToken);
            }

            if (whole is not null && KafkaProtocol.ReadCreateTopics(whole.AsSpan(4)) is { } createTopics)
            {
                var answer = KafkaProtocol.CreateTopicsResponse(createTopics.Header, await _createTopics(createTopics));
                await connection.AnswerAsync(answer, cancellationToken);
                continue;
            }

            // Registered before the broker can answer, so that its response is matched.
            if (header is { } h && KafkaProtocol.ExpectsResponse(buffer.AsSpan(4, first)))
            {
                connection.Expect(h);
            }

            if (whole is not null)
            {
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

    private static async Task ForwardResponsesAsync(NetworkStream up, Connection connection, CancellationToken cancellationToken)
    {
        var down = connection.Client;
        var buffer = new byte[ChunkSize];
        while (true)
        {
            try
            {
                await up.ReadExactlyAsync(buffer.AsMemory(0, 4), cancellationToken);
            }
            catch (EndOfStreamException)
            {
                return;
            }

            var size = BinaryPrimitives.ReadInt32BigEndian(buffer);
            if (size < 4)
            {
                // Not Kafka framing: pass everything on unread.
                await connection.Writing.WaitAsync(cancellationToken);
                await down.WriteAsync(buffer.AsMemory(0, 4), cancellationToken);
                await up.CopyToAsync(down, cancellationToken);
                return;
            }

            await up.ReadExactlyAsync(buffer.AsMemory(4, 4), cancellationToken);
            var correlationId = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(4));
            await connection.Writing.WaitAsync(cancellationToken);
            try
            {
                var (request, answersBefore) = connection.Take(correlationId);
                foreach (var answer in answersBefore)
                {
                    await down.WriteAsync(answer, cancellationToken);
                }

                if (request is { ApiKey: KafkaProtocol.ApiVersionsApiKey } apiVersions)
                {
                    var whole = new byte[4 + size];
                    buffer.AsSpan(0, 8).CopyTo(whole);
                    await up.ReadExactlyAsync(whole.AsMemory(8), cancellationToken);
                    await down.WriteAsync(KafkaProtocol.WithCreateTopics(whole.AsSpan(4), apiVersions.ApiVersion) ?? whole, cancellationToken);
                }
                else
                {
                    await down.WriteAsync(buffer.AsMemory(0, 8), cancellationToken);
                    for (var left = size - 4; left > 0;)
                    {
                        var read = await up.ReadAsync(buffer.AsMemory(0, Math.Min(left, buffer.Length)), cancellationToken);
                        if (read == 0)
                        {
                            return;
                        }

                        await down.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                        left -= read;
                    }
                }

                foreach (var answer in connection.TakeAnswers())
                {
                    await down.WriteAsync(answer, cancellationToken);
                }
            }
            finally
            {
                connection.Writing.Release();
            }
        }
    }

    private void Announce(ReadOnlySpan<byte> request)
    {
        if (KafkaProtocol.AutoCreatableTopics(request) is { Count: > 0 } topics)
        {
            _beforeMetadata(topics);
        }
    }

    /// <summary>A client's connection: the responses it waits for, in the order of its requests, and the lock on writing to it.</summary>
    /// <param name="client">The client's side.</param>
    private sealed class Connection(NetworkStream client) : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly LinkedList<Pending> _pending = new();

        public NetworkStream Client { get; } = client;

        /// <summary>Gets the lock held while a response is written to the client.</summary>
        public SemaphoreSlim Writing { get; } = new(1, 1);

        /// <summary>A request forwarded to the broker, which will answer it.</summary>
        /// <param name="header">The request's header.</param>
        public void Expect(RequestHeader header)
        {
            lock (_gate)
            {
                _pending.AddLast(new Pending(header, null));
            }
        }

        /// <summary>Sends the proxy's own response to a request once the responses to earlier requests have gone.</summary>
        /// <param name="answer">The response, its size first.</param>
        /// <param name="cancellationToken">Stops waiting.</param>
        /// <returns>A task that completes when it is sent or queued behind a response still awaited from the broker.</returns>
        public async Task AnswerAsync(byte[] answer, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                _pending.AddLast(new Pending(default, answer));
            }

            await Writing.WaitAsync(cancellationToken);
            try
            {
                foreach (var ready in TakeAnswers())
                {
                    await Client.WriteAsync(ready, cancellationToken);
                }
            }
            finally
            {
                Writing.Release();
            }
        }

        /// <summary>Takes the request a broker's response answers, with the proxy's own responses queued before it.</summary>
        /// <param name="correlationId">The response's correlation id.</param>
        /// <returns>The request (null when none is known: the response is forwarded as it is) and the responses to send before it.</returns>
        public (RequestHeader? Request, List<byte[]> AnswersBefore) Take(int correlationId)
        {
            lock (_gate)
            {
                var answers = new List<byte[]>();
                if (!_pending.Any(p => p.Answer is null && p.Header.CorrelationId == correlationId))
                {
                    answers.AddRange(TakeAnswersLocked());
                    return (null, answers);
                }

                while (_pending.First is { } first)
                {
                    _pending.RemoveFirst();
                    if (first.Value.Answer is { } answer)
                    {
                        answers.Add(answer);
                    }
                    else if (first.Value.Header.CorrelationId == correlationId)
                    {
                        return (first.Value.Header, answers);
                    }

                    // Otherwise a request the broker did not answer: nothing to wait for.
                }

                return (null, answers);
            }
        }

        /// <summary>Takes the proxy's own responses that no broker response precedes any more.</summary>
        /// <returns>The responses, in order.</returns>
        public List<byte[]> TakeAnswers()
        {
            lock (_gate)
            {
                return TakeAnswersLocked();
            }
        }

        public void Dispose() => Writing.Dispose();

        private List<byte[]> TakeAnswersLocked()
        {
            var answers = new List<byte[]>();
            while (_pending.First is { Value.Answer: { } answer })
            {
                _pending.RemoveFirst();
                answers.Add(answer);
            }

            return answers;
        }

        /// <summary>A response the client waits for: from the broker (<paramref name="Answer"/> null) or the proxy's own.</summary>
        /// <param name="Header">The header of the request the broker answers.</param>
        /// <param name="Answer">The proxy's response.</param>
        private readonly record struct Pending(RequestHeader Header, byte[]? Answer);
    }
}
