#!/usr/bin/env python3
"""Builds two tiny BERT-shaped ONNX models over vocab.txt, for testing the
ONNX embedder against a real ONNX Runtime session, and the vectors it must
return (tinybert_golden.json).

    pip install onnx tokenizers numpy
    python3 gen_tinybert.py   # from this folder

Graph (H = 32): with x = E[input_ids],
    last_hidden_state = tanh(x + (masked mean of x over the sequence) @ W
                             + T[token_type_ids])
    pooler_output     = last_hidden_state[:, 0, :]
The masked mean makes every position depend on the attention mask, so
feeding the mask wrongly, or letting padding leak in, changes the [CLS]
vector. tinybert-notype/ is the same model without the token_type_ids input
and the T term, as some exports have. pooler_output is listed first so that
the embedder must pick last_hidden_state by name.
"""
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from tokenizers import BertWordPieceTokenizer

H = 32
MAX_LENGTH = 25
TEXTS = [
    "Acute myocardial infarction",
    "Type 2 diabetes mellitus",
    "paracetamol 500mg oral tablet",
    "Café",
    "hypertension",
    "",
    "qqq",
    "Fracture of left arm [closed] with pain in right knee, chronic osteoarthritis of hip and lung cancer",
    "中国 cancer",
    "nephritis",
]


def build(vocab_size, with_types, rng):
    E = rng.standard_normal((vocab_size, H)).astype(np.float32)
    W = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(np.float32)
    T = rng.standard_normal((2, H)).astype(np.float32)
    inits = [numpy_helper.from_array(E, "E"), numpy_helper.from_array(W, "W"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
             numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
             numpy_helper.from_array(np.array(0, dtype=np.int64), "zero")]
    nodes = [
        helper.make_node("Gather", ["E", "input_ids"], ["x"]),
        helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["m", "axis2"], ["m3"]),
        helper.make_node("Mul", ["x", "m3"], ["xm"]),
        helper.make_node("ReduceSum", ["xm", "axis1"], ["sum"], keepdims=1),
        helper.make_node("ReduceSum", ["m3", "axis1"], ["cnt"], keepdims=1),
        helper.make_node("Div", ["sum", "cnt"], ["mean"]),
        helper.make_node("MatMul", ["mean", "W"], ["ctx"]),
        helper.make_node("Add", ["x", "ctx"], ["pre0"]),
    ]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
    ]
    if with_types:
        inits.append(numpy_helper.from_array(T, "T"))
        nodes += [helper.make_node("Gather", ["T", "token_type_ids"], ["t"]),
                  helper.make_node("Add", ["pre0", "t"], ["pre"])]
        inputs.append(helper.make_tensor_value_info(
            "token_type_ids", TensorProto.INT64, ["batch", "sequence"]))
    else:
        nodes.append(helper.make_node("Identity", ["pre0"], ["pre"]))
    nodes += [
        helper.make_node("Tanh", ["pre"], ["last_hidden_state"]),
        helper.make_node("Gather", ["last_hidden_state", "zero"], ["pooler_output"], axis=1),
    ]
    outputs = [
        helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["batch", H]),
        helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", H]),
    ]
    graph = helper.make_graph(nodes, "tinybert", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="portiere gen_tinybert.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, E, W, (T if with_types else None)


def cls_vector(ids, E, W, T):
    x = E[np.array(ids)]
    h0 = np.tanh(x[0] + x.mean(axis=0) @ W + (T[0] if T is not None else 0))
    return (h0 / np.linalg.norm(h0)).astype(np.float32)


def main():
    tok = BertWordPieceTokenizer("vocab.txt", lowercase=True)
    tok.enable_truncation(max_length=MAX_LENGTH)
    vocab_size = sum(1 for _ in open("vocab.txt", encoding="utf-8"))
    rng = np.random.RandomState(20240601)
    ids = [tok.encode(t).ids for t in TEXTS]
    golden = {"max_length": MAX_LENGTH, "texts": TEXTS, "ids": ids, "models": {}}
    for name, with_types in (("tinybert", True), ("tinybert-notype", False)):
        model, E, W, T = build(vocab_size, with_types, rng)
        os.makedirs(name, exist_ok=True)
        onnx.save(model, os.path.join(name, "model.onnx"))
        shutil.copy("vocab.txt", os.path.join(name, "vocab.txt"))
        want = [cls_vector(i, E, W, T) for i in ids]

        # Check the graph against the numpy formula on a padded batch, with
        # ONNX's reference evaluator.
        width = max(len(i) for i in ids)
        feed = {
            "input_ids": np.array([i + [0] * (width - len(i)) for i in ids], dtype=np.int64),
            "attention_mask": np.array([[1] * len(i) + [0] * (width - len(i)) for i in ids], dtype=np.int64),
        }
        if with_types:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        pooled, hidden = ReferenceEvaluator(model).run(None, feed)
        for k, w in enumerate(want):
            got = hidden[k, 0] / np.linalg.norm(hidden[k, 0])
            assert np.allclose(got, w, atol=1e-5), (name, TEXTS[k])
            assert np.allclose(pooled[k], hidden[k, 0])
        golden["models"][name] = [[float(x) for x in v] for v in want]
    with open("tinybert_golden.json", "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False)
        f.write("\n")
    print("wrote tinybert/, tinybert-notype/ and tinybert_golden.json")


if __name__ == "__main__":
    main()
