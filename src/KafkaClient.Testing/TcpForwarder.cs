using System.Net;
using System.Net.Sockets;

namespace KafkaClient.Testing;

/// <summary>Forwards TCP connections from a fixed loopback port to another endpoint, so that a well-known port (9092) reaches a broker on a random one.</summary>
/// <remarks>
/// Kafka clients only bootstrap through it: the metadata they receive names the brokers' own ports, which they then
/// connect to directly. Thread-safe; dispose to stop listening and close forwarded connections.
/// </remarks>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly List<TcpListener> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly string _targetHost;
    private readonly int _targetPort;

    private TcpForwarder(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    /// <summary>Gets the port it listens on.</summary>
    public int Port { get; private set; }

    /// <summary>Starts forwarding from a loopback port (IPv4, and IPv6 where available) to a target.</summary>
    /// <param name="port">The port to listen on; 0 picks a free one.</param>
    /// <param name="target">The <c>host:port</c> to forward to.</param>
    /// <returns>The running forwarder.</returns>
    /// <exception cref="SocketException">The port is taken.</exception>
    public static TcpForwarder Start(int port, string target)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        var colon = target.LastIndexOf(':');
        var forwarder = new TcpForwarder(target[..colon], int.Parse(target[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var v4 = new TcpListener(IPAddress.Loopback, port);
        v4.Start();
        forwarder.Port = ((IPEndPoint)v4.LocalEndpoint).Port;
        forwarder._listeners.Add(v4);
        try
        {
            var v6 = new TcpListener(IPAddress.IPv6Loopback, forwarder.Port);
            v6.Start();
            forwarder._listeners.Add(v6);
        }
        catch (SocketException)
        {
            // No IPv6 loopback here: IPv4 is enough.
        }

        foreach (var listener in forwarder._listeners)
        {
            forwarder._loops.Add(forwarder.AcceptLoopAsync(listener));
        }

        return forwarder;
    }

    /// <summary>Stops listening and closes forwarded connections.</summary>
    /// <returns>A task that completes when all loops have ended.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            listener.Stop();
        }

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
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
                client = await listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
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
                await upstream.ConnectAsync(_targetHost, _targetPort, _stop.Token).ConfigureAwait(false);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var down = client.GetStream();
                var up = upstream.GetStream();
                await Task.WhenAny(down.CopyToAsync(up, both.Token), up.CopyToAsync(down, both.Token)).ConfigureAwait(false);
                await both.CancelAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A side closed: the connection ends.
            }
        }
    }
}
