using System.Diagnostics;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace KafkaClient.Native;

/// <summary>Finds the librdkafka image that Confluent.Kafka loaded into this process, to call functions it does not wrap.</summary>
/// <remarks>
/// Confluent.Kafka picks one of several native files (on Debian, for example, a variant of librdkafka.so) and
/// loads it; loading a second copy would give two librdkafkas with separate state. This asks Confluent.Kafka to
/// load its library, then finds that image among the process's modules by an export only librdkafka has.
/// </remarks>
internal static class LoadedLibrdkafka
{
    /// <summary>Gets the path of the loaded librdkafka image that exports <paramref name="export"/>, or null.</summary>
    /// <param name="export">A function the image must export, for example <c>rd_kafka_yield</c>.</param>
    /// <returns>The path, or null when no loaded module named like librdkafka exports it.</returns>
    public static string? Find(string export)
    {
        // Forces Confluent.Kafka to load its native library if no client has been created yet.
        _ = Library.Version;
        using var process = Process.GetCurrentProcess();
        foreach (ProcessModule module in process.Modules)
        {
            var name = Path.GetFileName(module.FileName);
            if (name.Contains("rdkafka", StringComparison.OrdinalIgnoreCase)
                && NativeLibrary.TryLoad(module.FileName, out var candidate))
            {
                var exported = NativeLibrary.TryGetExport(candidate, export, out _);
                NativeLibrary.Free(candidate);
                if (exported)
                {
                    return module.FileName;
                }
            }
        }

        return null;
    }
}
