using Confluent.Kafka;

namespace KafkaClient.Producer;

/// <summary>A serialized message as handed to librdkafka, which is its own key so that its delivery report leads back to it.</summary>
/// <remarks>
/// Confluent.Kafka keeps a message's key until its delivery report and hands it back there. With this object as the
/// key (written by <see cref="KeySerializer"/> as <see cref="KeyBytes"/>), one delivery handler shared by every message
/// finds the message's own record: no delegate and no second message object per send.
/// </remarks>
internal class OutgoingMessage : Message<OutgoingMessage, byte[]>
{
    public OutgoingMessage()
    {
        Key = this;
    }

    /// <summary>Gets the key serializer of the producer these messages go through: it writes each message's <see cref="KeyBytes"/>.</summary>
    public static ISerializer<OutgoingMessage> KeySerializer { get; } = new KeyBytesWriter();

    /// <summary>Gets or sets the serialized key, or null for a message without a key.</summary>
    public byte[]? KeyBytes { get; set; }

    private sealed class KeyBytesWriter : ISerializer<OutgoingMessage>
    {
        public byte[] Serialize(OutgoingMessage data, SerializationContext context) => data.KeyBytes!;
    }
}
