using System.Text;
using Confluent.Kafka;

namespace KafkaClient.Tests.Serialization;

/// <summary>Golden bytes: what Java's serializers and confluent-kafka-python's write for the same values.</summary>
public class SerdesTests
{
    private static readonly SerializationContext Value = new(MessageComponentType.Value, "t");

    public static TheoryData<int, string> Int32Cases => new()
    {
        // Python: struct.pack('>i', v); Java: IntegerSerializer
        { 0, "00000000" },
        { 1, "00000001" },
        { -1, "FFFFFFFF" },
        { 305419896, "12345678" },
        { int.MinValue, "80000000" },
        { -2, "FFFFFFFE" },
    };

    public static TheoryData<long, string> Int64Cases => new()
    {
        { 0L, "0000000000000000" },
        { 1L, "0000000000000001" },
        { -1L, "FFFFFFFFFFFFFFFF" },
        { 0x0102030405060708L, "0102030405060708" },
        { long.MinValue, "8000000000000000" },
    };

    public static TheoryData<double, string> DoubleCases => new()
    {
        // Python: struct.pack('>d', v)
        { 1.5, "3FF8000000000000" },
        { -2.0, "C000000000000000" },
        { 0.1, "3FB999999999999A" },
        { double.PositiveInfinity, "7FF0000000000000" },
    };

    public static TheoryData<float, string> SingleCases => new()
    {
        { 1.5f, "3FC00000" },
        { -2.0f, "C0000000" },
        { 0.1f, "3DCCCCCD" },
    };

    [Theory]
    [MemberData(nameof(Int32Cases))]
    public void Int32_is_four_bytes_big_endian(int value, string hex) => RoundTrip(Serdes.Int32, value, hex);

    [Theory]
    [MemberData(nameof(Int64Cases))]
    public void Int64_is_eight_bytes_big_endian(long value, string hex) => RoundTrip(Serdes.Int64, value, hex);

    [Theory]
    [MemberData(nameof(DoubleCases))]
    public void Double_is_ieee754_big_endian(double value, string hex) => RoundTrip(Serdes.Double, value, hex);

    [Theory]
    [MemberData(nameof(SingleCases))]
    public void Single_is_ieee754_big_endian(float value, string hex) => RoundTrip(Serdes.Single, value, hex);

    [Theory]
    [InlineData("", "")]
    [InlineData("kafka", "6B61666B61")]
    [InlineData("héllo €", "68C3A96C6C6F20E282AC")]
    public void Utf8_string_has_no_bom(string value, string hex) => RoundTrip(Serdes.Utf8, value, hex);

    [Fact]
    public void Other_encodings_write_their_own_bytes()
    {
        RoundTrip(Serdes.String(Encoding.Latin1), "héllo", "68E96C6C6F");
        RoundTrip(Serdes.String(new UnicodeEncoding(bigEndian: true, byteOrderMark: false)), "hé", "006800E9");
        Assert.Same(Serdes.Utf8, Serdes.String(new UTF8Encoding(false)));
    }

    [Fact]
    public void Null_strings_and_byte_arrays_stay_null_on_the_wire()
    {
        Assert.Null(Serdes.Utf8.Serialize(null!, Value));
        Assert.Null(Serdes.String(Encoding.Latin1).Serialize(null!, Value));
        Assert.Null(Serdes.ByteArray.Serialize(null!, Value));
        Assert.Null(Serdes.Utf8.Deserialize(ReadOnlySpan<byte>.Empty, isNull: true, Value));
        Assert.Null(Serdes.ByteArray.Deserialize(ReadOnlySpan<byte>.Empty, isNull: true, Value));
        Assert.Null(Serdes.Null.Serialize(null!, Value));
    }

    [Fact]
    public void Byte_arrays_pass_through_unchanged()
    {
        byte[] bytes = [0, 1, 2, 255];
        Assert.Equal(bytes, Serdes.ByteArray.Serialize(bytes, Value));
        Assert.Equal(bytes, Serdes.ByteArray.Deserialize(bytes, false, Value));
    }

    [Fact]
    public void Wrong_length_numbers_are_refused()
    {
        Assert.ThrowsAny<Exception>(() => Serdes.Int32.Deserialize(new byte[] { 1, 2, 3 }, false, Value));
        Assert.ThrowsAny<Exception>(() => Serdes.Int64.Deserialize(new byte[] { 1, 2, 3, 4 }, false, Value));
        Assert.ThrowsAny<Exception>(() => Serdes.Double.Deserialize(new byte[] { 1 }, false, Value));
    }

    private static void RoundTrip<T>(Serde<T> serde, T value, string hex)
    {
        var bytes = serde.Serialize(value, Value);
        Assert.Equal(hex, Convert.ToHexString(bytes));
        Assert.Equal(value, serde.Deserialize(bytes, false, Value));
    }
}
