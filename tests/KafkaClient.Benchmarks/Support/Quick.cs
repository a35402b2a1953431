using System.Diagnostics;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace KafkaClient.Benchmarks.Support;

/// <summary>
/// A quick look, not a measurement to publish: runs the end-to-end benchmark classes in this process, interleaving
/// their benchmarks round by round, and prints each one's median time and allocation per operation. For trying an
/// optimization in a minute; the numbers in docs/benchmarks.md come from BenchmarkDotNet.
/// </summary>
/// <remarks>Usage: <c>dotnet run -c Release --project tests/KafkaClient.Benchmarks -- quick [rounds] [class name part] [benchmark]</c> (the baseline always runs too).</remarks>
internal static class Quick
{
    public static async Task RunAsync(string[] args)
    {
        var rounds = args.Length > 1 && int.TryParse(args[1], out var r) ? r : 7;
        var filter = args.Length > 2 ? args[2] : string.Empty;
        var only = args.Length > 3 ? args[3] : null;
        foreach (var type in new[] { typeof(EndToEnd.ProducerBenchmarks), typeof(EndToEnd.ConsumerBenchmarks) })
        {
            if (type.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            {
                await RunClassAsync(type, rounds, only);
            }
        }
    }

    private static async Task RunClassAsync(Type type, int rounds, string? only)
    {
        var instance = Activator.CreateInstance(type)!;
        var methods = type.GetMethods()
            .Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is { } b && (only is null || b.Baseline || m.Name.Equals(only, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        await InvokeAsync(instance, type.GetMethods().Single(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null));
        var times = methods.ToDictionary(m => m.Name, _ => new List<double>());
        var bytes = methods.ToDictionary(m => m.Name, _ => new List<double>());
        var cpu = methods.ToDictionary(m => m.Name, _ => new List<double>());
        var collections = methods.ToDictionary(m => m.Name, _ => new List<double>());
        var pauses = methods.ToDictionary(m => m.Name, _ => new List<double>());
        try
        {
            for (var round = 0; round < rounds + 1; round++)
            {
                foreach (var method in methods)
                {
                    var operations = method.GetCustomAttribute<BenchmarkAttribute>()!.OperationsPerInvoke;
                    foreach (var setup in type.GetMethods().Where(m => m.GetCustomAttributes<IterationSetupAttribute>().Any(a => a.Targets.Length == 0 || a.Targets.Contains(method.Name))))
                    {
                        await InvokeAsync(instance, setup);
                    }

                    var allocated = GC.GetTotalAllocatedBytes(precise: true);
                    var processor = Process.GetCurrentProcess().TotalProcessorTime;
                    var (gen0, gen1) = (GC.CollectionCount(0), GC.CollectionCount(1));
                    var paused = GC.GetTotalPauseDuration();
                    var clock = Stopwatch.StartNew();
                    await InvokeAsync(instance, method);
                    var elapsed = clock.Elapsed;
                    processor = Process.GetCurrentProcess().TotalProcessorTime - processor;
                    paused = GC.GetTotalPauseDuration() - paused;
                    allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                    foreach (var cleanup in type.GetMethods().Where(m => m.GetCustomAttribute<IterationCleanupAttribute>() is not null))
                    {
                        await InvokeAsync(instance, cleanup);
                    }

                    if (round > 0)
                    {
                        // Round 0 warms up.
                        times[method.Name].Add(elapsed.TotalMicroseconds / operations);
                        bytes[method.Name].Add((double)allocated / operations);
                        cpu[method.Name].Add(processor.TotalMicroseconds / operations);
                        collections[method.Name].Add(((GC.CollectionCount(0) - gen0) * 1000) + (GC.CollectionCount(1) - gen1));
                        pauses[method.Name].Add(paused.TotalMicroseconds / operations);
                    }
                }
            }
        }
        finally
        {
            await InvokeAsync(instance, type.GetMethods().Single(m => m.GetCustomAttribute<GlobalCleanupAttribute>() is not null));
        }

        var baseline = Median(times[methods.Single(m => m.GetCustomAttribute<BenchmarkAttribute>()!.Baseline).Name]);
        Console.WriteLine($"{type.Name} ({rounds} rounds, medians)");
        foreach (var method in methods)
        {
            var time = Median(times[method.Name]);
            Console.WriteLine($"  {method.Name,-24} {time,8:0.00} µs/op  {1e6 / time,9:0}/s  {baseline / time,6:P0} of baseline  {Median(bytes[method.Name]),7:0} B/op  {Median(cpu[method.Name]),6:0.00} µs CPU/op (all threads)  GCs gen0/gen1 {Math.Floor(Median(collections[method.Name]) / 1000)}/{Median(collections[method.Name]) % 1000}, paused {Median(pauses[method.Name]):0.000} µs/op");
        }
    }

    private static async Task InvokeAsync(object instance, MethodInfo method)
    {
        if (method.Invoke(instance, null) is Task task)
        {
            await task;
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
