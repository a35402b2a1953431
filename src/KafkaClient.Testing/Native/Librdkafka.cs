using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using KafkaClient.Native;

namespace KafkaClient.Testing.Native;

/// <summary>The mock-cluster entry points of the very librdkafka image that Confluent.Kafka loaded into this process.</summary>
/// <remarks>
/// Confluent.Kafka picks one of several native files (on Debian, for example, a variant of librdkafka.so) and
/// loads it; loading a second copy would give two librdkafkas with separate state. This class asks
/// Confluent.Kafka to load its library, finds that image among the process's modules and resolves the
/// functions from its handle.
/// </remarks>
internal static unsafe class Librdkafka
{
    private static readonly Lazy<Functions> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    public static Functions Api => Loaded.Value;

    private static Functions Load()
    {
        var path = LoadedLibrdkafka.Find("rd_kafka_mock_cluster_new")
            ?? throw new InvalidOperationException("Could not find the librdkafka image loaded by Confluent.Kafka among this process's modules.");
        var handle = NativeLibrary.Load(path);
        return new Functions(handle, path);
    }

    internal sealed class Functions
    {
        public Functions(nint library, string path)
        {
            Path = path;
            nint Get(string name) => NativeLibrary.GetExport(library, name);
            ConfNew = (delegate* unmanaged[Cdecl]<nint>)Get("rd_kafka_conf_new");
            ConfSet = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, byte*, nuint, int>)Get("rd_kafka_conf_set");
            New = (delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint>)Get("rd_kafka_new");
            Destroy = (delegate* unmanaged[Cdecl]<nint, void>)Get("rd_kafka_destroy");
            ClusterNew = (delegate* unmanaged[Cdecl]<nint, int, nint>)Get("rd_kafka_mock_cluster_new");
            ClusterDestroy = (delegate* unmanaged[Cdecl]<nint, void>)Get("rd_kafka_mock_cluster_destroy");
            Bootstraps = (delegate* unmanaged[Cdecl]<nint, byte*>)Get("rd_kafka_mock_cluster_bootstraps");
            TopicCreate = (delegate* unmanaged[Cdecl]<nint, byte*, int, int, int>)Get("rd_kafka_mock_topic_create");
            TopicDelete = (delegate* unmanaged[Cdecl]<nint, byte*, int>)Get("rd_kafka_mock_topic_delete");
            TopicSetError = (delegate* unmanaged[Cdecl]<nint, byte*, int, void>)Get("rd_kafka_mock_topic_set_error");
            PartitionSetLeader = (delegate* unmanaged[Cdecl]<nint, byte*, int, int, int>)Get("rd_kafka_mock_partition_set_leader");
            BrokerSetDown = (delegate* unmanaged[Cdecl]<nint, int, int>)Get("rd_kafka_mock_broker_set_down");
            BrokerSetUp = (delegate* unmanaged[Cdecl]<nint, int, int>)Get("rd_kafka_mock_broker_set_up");
            BrokerSetRtt = (delegate* unmanaged[Cdecl]<nint, int, int, int>)Get("rd_kafka_mock_broker_set_rtt");
            PushRequestErrors = (delegate* unmanaged[Cdecl]<nint, short, nuint, int*, void>)Get("rd_kafka_mock_push_request_errors_array");
            ClearRequestErrors = (delegate* unmanaged[Cdecl]<nint, short, void>)Get("rd_kafka_mock_clear_request_errors");
            SetControllerId = (delegate* unmanaged[Cdecl]<nint, int, void>)Get("rd_kafka_mock_set_controller_id");
            GroupInitialRebalanceDelay = (delegate* unmanaged[Cdecl]<nint, int, void>)Get("rd_kafka_mock_group_initial_rebalance_delay_ms");
            CoordinatorSet = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, int, int>)Get("rd_kafka_mock_coordinator_set");
            BrokerSetHostPort = NativeLibrary.TryGetExport(library, "rd_kafka_mock_broker_set_host_port", out var setHostPort)
                ? (delegate* unmanaged[Cdecl]<nint, int, byte*, int, void>)setHostPort
                : null;
        }

        public string Path { get; }

        public delegate* unmanaged[Cdecl]<nint> ConfNew { get; }

        public delegate* unmanaged[Cdecl]<nint, byte*, byte*, byte*, nuint, int> ConfSet { get; }

        public delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint> New { get; }

        public delegate* unmanaged[Cdecl]<nint, void> Destroy { get; }

        public delegate* unmanaged[Cdecl]<nint, int, nint> ClusterNew { get; }

        public delegate* unmanaged[Cdecl]<nint, void> ClusterDestroy { get; }

        public delegate* unmanaged[Cdecl]<nint, byte*> Bootstraps { get; }

        public delegate* unmanaged[Cdecl]<nint, byte*, int, int, int> TopicCreate { get; }

        public delegate* unmanaged[Cdecl]<nint, byte*, int> TopicDelete { get; }

        public delegate* unmanaged[Cdecl]<nint, byte*, int, void> TopicSetError { get; }

        public delegate* unmanaged[Cdecl]<nint, byte*, int, int, int> PartitionSetLeader { get; }

        public delegate* unmanaged[Cdecl]<nint, int, int> BrokerSetDown { get; }

        public delegate* unmanaged[Cdecl]<nint, int, int> BrokerSetUp { get; }

        public delegate* unmanaged[Cdecl]<nint, int, int, int> BrokerSetRtt { get; }

        public delegate* unmanaged[Cdecl]<nint, short, nuint, int*, void> PushRequestErrors { get; }

        public delegate* unmanaged[Cdecl]<nint, short, void> ClearRequestErrors { get; }

        public delegate* unmanaged[Cdecl]<nint, int, void> SetControllerId { get; }

        public delegate* unmanaged[Cdecl]<nint, int, void> GroupInitialRebalanceDelay { get; }

        public delegate* unmanaged[Cdecl]<nint, byte*, byte*, int, int> CoordinatorSet { get; }

        /// <summary>Gets rd_kafka_mock_broker_set_host_port, or null in a librdkafka too old to have it.</summary>
        public delegate* unmanaged[Cdecl]<nint, int, byte*, int, void> BrokerSetHostPort { get; }
    }

    /// <summary>A NUL-terminated UTF-8 copy of a string for one native call.</summary>
    public static byte[] Utf8Z(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
