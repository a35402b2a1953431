using Confluent.Kafka;

namespace KafkaClient;

/// <summary>A key or value could not be serialized; nothing was handed to Kafka.</summary>
public abstract class SerializationException : KafkaClientException
{
    private protected SerializationException(MessageComponentType component, string topic, Exception innerException)
        : base($"Failed to serialize the {ComponentName(component)} of a message for topic \"{topic}\": {ErrorText.Safe(innerException.Message)}", innerException, topic, null, null)
    {
        Component = component;
    }

    /// <summary>Gets which part of the message failed: <see cref="MessageComponentType.Key"/> or <see cref="MessageComponentType.Value"/>.</summary>
    public MessageComponentType Component { get; }

    /// <summary>Gets a value indicating whether repeating the call may succeed: true for I/O failures, timeouts and HTTP 5xx, 408 or 429 (for example a schema registry that could not be reached), and for the library's own retriable errors.</summary>
    public override bool IsRetriable => Transient.Is(InnerException);

    internal static string ComponentName(MessageComponentType component) => component == MessageComponentType.Key ? "key" : "value";

    internal static SerializationException Create(MessageComponentType component, string topic, Exception inner) =>
        component == MessageComponentType.Key
            ? new KeySerializationException(topic, inner)
            : new ValueSerializationException(topic, inner);
}

/// <summary>The key of a message could not be serialized; the message was not produced.</summary>
public sealed class KeySerializationException : SerializationException
{
    /// <summary>Initializes a new instance of the <see cref="KeySerializationException"/> class.</summary>
    /// <param name="topic">The topic the message was for.</param>
    /// <param name="innerException">The serializer's exception.</param>
    public KeySerializationException(string topic, Exception innerException)
        : base(MessageComponentType.Key, topic, innerException)
    {
    }
}

/// <summary>The value of a message could not be serialized; the message was not produced.</summary>
public sealed class ValueSerializationException : SerializationException
{
    /// <summary>Initializes a new instance of the <see cref="ValueSerializationException"/> class.</summary>
    /// <param name="topic">The topic the message was for.</param>
    /// <param name="innerException">The serializer's exception.</param>
    public ValueSerializationException(string topic, Exception innerException)
        : base(MessageComponentType.Value, topic, innerException)
    {
    }
}
