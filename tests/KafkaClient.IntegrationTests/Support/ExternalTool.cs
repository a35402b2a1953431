using System.Diagnostics;

namespace KafkaClient.IntegrationTests;

/// <summary>A test that drives another program (kcat, Confluent's Python client) against our cluster.</summary>
/// <remarks>
/// On a developer machine without the program the test is skipped with a reason that says how to install it.
/// In CI (<c>CI=true</c>) it always runs: <c>.ci/run</c> installs the programs, and a missing one fails the test.
/// </remarks>
public sealed class RequiresToolFactAttribute : FactAttribute
{
    public RequiresToolFactAttribute(string tool, string debianPackage, string? pythonModule = null)
    {
        var missing = ExternalTool.Find(tool) is null
            || (pythonModule is not null && !ExternalTool.PythonHas(tool, pythonModule));
        if (Environment.GetEnvironmentVariable("CI") != "true" && missing)
        {
            Skip = $"'{tool}' is not installed (apt-get install {debianPackage}); CI installs it and runs this test.";
        }
    }
}

/// <summary>A test that drives the JavaScript peer (tests/KafkaClient.IntegrationTests/JavaScript) with node.</summary>
/// <remarks>
/// The peer runs from its source folder, where <c>npm ci</c> installs the exact packages package-lock.json pins.
/// On a developer machine without node, protoc or those packages the test is skipped with a reason that says how to
/// install them; in CI (<c>CI=true</c>) it always runs: <c>.ci/run</c> installs them, and a missing one fails the test.
/// </remarks>
public sealed class RequiresJavaScriptPeerFactAttribute : FactAttribute
{
    public RequiresJavaScriptPeerFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") != "true" && JavaScriptPeer.Missing() is { } missing)
        {
            Skip = $"{missing}; CI installs what is missing and runs this test.";
        }
    }
}

/// <summary>Where the JavaScript peer is, and what it needs.</summary>
internal static class JavaScriptPeer
{
    /// <summary>The packages the peer loads, each a folder under node_modules.</summary>
    private static readonly string[] Packages = ["@confluentinc/schemaregistry", "@bufbuild/protobuf", "kafkajs"];

    /// <summary>Gets the peer's source folder (the build records it: node resolves the packages beside the script).</summary>
    public static string Directory { get; } =
        typeof(JavaScriptPeer).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .Single(a => a.Key == "JavaScriptPeerDirectory").Value!;

    /// <summary>Gets the path of a script of the peer.</summary>
    public static string Script(string name) => Path.Combine(Directory, name);

    /// <summary>Says what is missing to run the peer, or null when nothing is.</summary>
    public static string? Missing()
    {
        if (ExternalTool.Find("node") is null)
        {
            return "'node' is not installed (apt-get install nodejs npm)";
        }

        if (ExternalTool.Find("protoc") is null)
        {
            return "'protoc' is not installed (apt-get install protobuf-compiler)";
        }

        var absent = Packages.Where(p => !File.Exists(Path.Combine(Directory, "node_modules", p, "package.json"))).ToList();
        return absent.Count == 0 ? null : $"the JavaScript peer's packages are not installed ({string.Join(", ", absent)}: run 'npm ci' in {Directory})";
    }
}

internal static class ExternalTool
{
    public static string? Find(string tool) => Path.IsPathRooted(tool) ? (File.Exists(tool) ? tool : null) :
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);

    public static bool PythonHas(string python, string module)
    {
        using var process = Process.Start(new ProcessStartInfo(python, ["-c", $"import {module}"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit(30_000);
        return process.HasExited && process.ExitCode == 0;
    }

    /// <summary>Runs a program to completion and returns its standard output; throws with its error output on failure.</summary>
    public static async Task<string> RunAsync(string tool, IEnumerable<string> arguments, string? standardInput = null, TimeSpan? timeout = null)
    {
        var path = Find(tool) ?? throw new InvalidOperationException($"'{tool}' is not installed; .ci/run installs it.");
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish: {await error}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} exited with {process.ExitCode}: {await error}");
        }

        return await output;
    }
}
