using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit.Sdk;

namespace KafkaClient.TestProcesses;

/// <summary>The dev stack (<c>kafka-devstack</c>) as a child process on its own ports, as users run it; killed when disposed.</summary>
/// <remarks>Shared by the test projects that run it (linked into each); it needs <c>KafkaClient.DevStack.dll</c> beside the tests.</remarks>
public sealed class DevStackProcess : IAsyncDisposable
{
    /// <summary>How long the stack may take to serve Kafka and the registry.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly List<string> _lines = [];

    private DevStackProcess(Process process, int kafkaPort, int registryPort)
    {
        Process = process;
        KafkaPort = kafkaPort;
        RegistryPort = registryPort;
    }

    /// <summary>Gets the process.</summary>
    public Process Process { get; }

    /// <summary>Gets the Kafka bootstrap port.</summary>
    public int KafkaPort { get; }

    /// <summary>Gets the Schema Registry port.</summary>
    public int RegistryPort { get; }

    /// <summary>Gets <c>bootstrap.servers</c>, as code written for docker-compose names it.</summary>
    public string BootstrapServers => $"localhost:{KafkaPort}";

    /// <summary>Gets the registry's URL.</summary>
    public string RegistryUrl => $"http://localhost:{RegistryPort}";

    /// <summary>Gets the variables that point the samples at this stack.</summary>
    public IReadOnlyDictionary<string, string> SampleEnvironment => new Dictionary<string, string>
    {
        ["KAFKA_BOOTSTRAP_SERVERS"] = BootstrapServers,
        ["SCHEMA_REGISTRY_URL"] = RegistryUrl,
    };

    /// <summary>Gets the lines the stack wrote so far, standard output and error together.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Gets what the stack wrote so far, for failure messages.</summary>
    public string Output => string.Join('\n', Lines);

    /// <summary>A port that was free a moment ago.</summary>
    /// <returns>The port.</returns>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts a stack on free ports (chosen again, at most twice, if another process takes one first).</summary>
    /// <param name="arguments">More options (<c>--brokers</c>, <c>--partitions</c>).</param>
    /// <returns>The stack, serving Kafka and the registry.</returns>
    public static async Task<DevStackProcess> StartAsync(params string[] arguments)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartAsync(FreePort(), FreePort(), arguments);
            }
            catch (PortTakenException) when (attempt < 3)
            {
                // Taken between FreePort() and the stack's bind: pick others.
            }
        }
    }

    /// <summary>Starts a stack on the given ports and waits, at most <see cref="StartTimeout"/>, until both ports accept connections and the registry answers.</summary>
    /// <param name="kafkaPort">The Kafka port.</param>
    /// <param name="registryPort">The registry port.</param>
    /// <param name="arguments">More options.</param>
    /// <returns>The stack, serving Kafka and the registry.</returns>
    /// <exception cref="XunitException">It exited or was not ready in time (it is killed); the message holds its output.</exception>
    public static async Task<DevStackProcess> StartAsync(int kafkaPort, int registryPort, params string[] arguments)
    {
        var start = new ProcessStartInfo(
            "dotnet",
            [Path.Combine(AppContext.BaseDirectory, "KafkaClient.DevStack.dll"), "--kafka-port", $"{kafkaPort}", "--registry-port", $"{registryPort}", .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var stack = new DevStackProcess(Process.Start(start)!, kafkaPort, registryPort);
        stack.Process.OutputDataReceived += (_, e) => stack.Add(e.Data);
        stack.Process.ErrorDataReceived += (_, e) => stack.Add(e.Data);
        stack.Process.BeginOutputReadLine();
        stack.Process.BeginErrorReadLine();
        try
        {
            await stack.WaitUntilReadyAsync();
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the stack as Ctrl-C or <c>docker compose down</c> would: SIGTERM, then a bounded wait.</summary>
    /// <returns>Its exit code.</returns>
    /// <exception cref="XunitException">It did not stop within 30 s (it is killed).</exception>
    public async Task<int> StopAsync()
    {
        if (!Process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", $"{Process.Id}"])!;
            await kill.WaitForExitAsync();
        }

        using var limit = new CancellationTokenSource(StopTimeout);
        try
        {
            await Process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            throw new XunitException($"The dev stack did not stop within {StopTimeout.TotalSeconds} s of SIGTERM. It wrote:\n{Output}");
        }

        return Process.ExitCode;
    }

    /// <summary>Kills the stack if it still runs, and waits (bounded) until it has gone.</summary>
    /// <returns>A task that completes when it has gone.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            using var limit = new CancellationTokenSource(StopTimeout);
            await Process.WaitForExitAsync(limit.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Gone already, or the kill did not finish in time: nothing more to do.
        }
        finally
        {
            Process.Dispose();
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await client.ConnectAsync("localhost", port, limit.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            lock (_lines)
            {
                _lines.Add(line);
            }
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (Process.HasExited)
            {
                // The lines written last may still be on their way.
                await Process.WaitForExitAsync();
                var why = $"The dev stack exited with code {Process.ExitCode} before it was ready. It wrote:\n{Output}";
                throw Output.Contains("is not free", StringComparison.Ordinal) ? new PortTakenException(why) : new XunitException(why);
            }

            if (await AcceptsAsync(KafkaPort) && await AcceptsAsync(RegistryPort) && await RegistryAnswersAsync(http))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new XunitException($"The dev stack did not serve Kafka at {BootstrapServers} and the registry at {RegistryUrl} within {StartTimeout.TotalSeconds} s. It wrote:\n{Output}");
            }

            await Task.Delay(200);
        }
    }

    private async Task<bool> RegistryAnswersAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync(new Uri($"{RegistryUrl}/subjects"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>The stack could not bind a port another process took.</summary>
    /// <param name="message">What happened, with the stack's output.</param>
    private sealed class PortTakenException(string message) : XunitException(message);
}

/// <summary>Runs the samples as processes, as a user runs them.</summary>
public static class SampleProcess
{
    /// <summary>How long one run of a sample may take.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>Runs a sample to its end: on its own embedded stack, or on the stack the variables name.</summary>
    /// <param name="assembly">The sample's assembly beside the tests (<c>Quickstart.dll</c>).</param>
    /// <param name="environment">KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL, or null for none (the sample's embedded stack).</param>
    /// <returns>The exit code and what it wrote (standard output, then standard error).</returns>
    /// <exception cref="XunitException">It ran longer than <see cref="Timeout"/> (it is killed); the message holds its output.</exception>
    public static async Task<(int ExitCode, string Output)> RunAsync(string assembly, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, assembly)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("KAFKA_BOOTSTRAP_SERVERS");
        start.Environment.Remove("SCHEMA_REGISTRY_URL");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new XunitException($"{assembly} ran longer than {Timeout.TotalSeconds} s and was killed. It wrote:\n{await output}{await error}");
        }

        return (process.ExitCode, await output + await error);
    }

    /// <summary>Starts a dev stack on free ports, runs a sample twice against it and checks each run (the stack is killed afterwards, also on failure).</summary>
    /// <param name="assembly">The sample's assembly.</param>
    /// <param name="check">Checks one run's output (the stack given to look at it); throws when it is wrong.</param>
    /// <returns>A task that completes when both runs passed.</returns>
    /// <exception cref="XunitException">A run failed: the message names it and holds its output and the stack's.</exception>
    public static async Task RunTwiceOnDevStackAsync(string assembly, Func<string, DevStackProcess, Task> check)
    {
        await using var stack = await DevStackProcess.StartAsync();
        for (var run = 1; run <= 2; run++)
        {
            var (exitCode, output) = await RunAsync(assembly, stack.SampleEnvironment);
            try
            {
                Assert.True(exitCode == 0, $"exit code {exitCode}");
                await check(output, stack);
            }
            catch (XunitException ex)
            {
                throw new XunitException($"{assembly}, run {run} of 2 on the dev stack: {ex.Message}\n--- what it wrote ---\n{output}\n--- what the dev stack wrote ---\n{stack.Output}");
            }
        }
    }
}
