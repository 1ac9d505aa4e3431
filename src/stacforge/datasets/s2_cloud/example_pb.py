"""``tf.train.Example`` as protobuf message classes, without TensorFlow.

The messages of TensorFlow's ``tensorflow/core/example/{example,feature}.proto`` (proto3,
package ``tensorflow``) are declared here field by field as a ``FileDescriptorProto`` and
turned into classes by the installed protobuf runtime (upb), so records are decoded by a real
protobuf parser with no generated code. They live in a private descriptor pool: other
libraries that register their own ``tensorflow.Example`` in the default pool (the ``tfrecord``
package does) do not clash with these.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_FIELD = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "tensorflow"


def _field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    kind: int,
    *,
    repeated: bool = False,
    type_name: str | None = None,
    packed: bool = False,
    oneof: int | None = None,
) -> None:
    field = message.field.add(
        name=name,
        number=number,
        type=kind,
        label=_FIELD.LABEL_REPEATED if repeated else _FIELD.LABEL_OPTIONAL,
    )
    if type_name is not None:
        field.type_name = f".{_PACKAGE}.{type_name}"
    if packed:
        field.options.packed = True
    if oneof is not None:
        field.oneof_index = oneof


def _file() -> descriptor_pb2.FileDescriptorProto:
    """``feature.proto`` and ``example.proto`` (Example only) in one file."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="stacforge/tensorflow_example.proto", package=_PACKAGE, syntax="proto3"
    )
    bytes_list = proto.message_type.add(name="BytesList")
    _field(bytes_list, "value", 1, _FIELD.TYPE_BYTES, repeated=True)
    float_list = proto.message_type.add(name="FloatList")
    _field(float_list, "value", 1, _FIELD.TYPE_FLOAT, repeated=True, packed=True)
    int64_list = proto.message_type.add(name="Int64List")
    _field(int64_list, "value", 1, _FIELD.TYPE_INT64, repeated=True, packed=True)

    feature = proto.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for number, (name, type_name) in enumerate(
        (("bytes_list", "BytesList"), ("float_list", "FloatList"), ("int64_list", "Int64List")),
        start=1,
    ):
        _field(feature, name, number, _FIELD.TYPE_MESSAGE, type_name=type_name, oneof=0)

    features = proto.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, _FIELD.TYPE_STRING)
    _field(entry, "value", 2, _FIELD.TYPE_MESSAGE, type_name="Feature")
    _field(
        features,
        "feature",
        1,
        _FIELD.TYPE_MESSAGE,
        repeated=True,
        type_name="Features.FeatureEntry",
    )

    example = proto.message_type.add(name="Example")
    _field(example, "features", 1, _FIELD.TYPE_MESSAGE, type_name="Features")
    return proto


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())


def _message(name: str) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


Example: Any = _message("Example")
"""``tensorflow.Example``: ``features.feature`` maps names to :data:`Feature`."""
Features: Any = _message("Features")
Feature: Any = _message("Feature")
"""``tensorflow.Feature``: one of ``bytes_list``, ``float_list``, ``int64_list``."""
BytesList: Any = _message("BytesList")
FloatList: Any = _message("FloatList")
Int64List: Any = _message("Int64List")
