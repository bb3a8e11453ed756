#!/usr/bin/env python3
"""Writes wordpiece_golden.json: the token ids HuggingFace's own BERT tokenizer
gives for vocab.txt, so the Go WordPiece tokenizer is checked against the
reference implementation rather than against our reading of it.

    pip install tokenizers
    python3 gen_wordpiece_golden.py   # from this folder
"""
import json

from tokenizers import BertWordPieceTokenizer

TEXTS = [
    "Acute myocardial infarction",
    "ACUTE MYOCARDIAL INFARCTION",
    "Chronic kidney disease, stage 3",
    "Type 2 diabetes mellitus without complication",
    "Paracetamol 500mg oral tablet",
    "paracetamol 500 mg",
    "Hydrocortisone 0.1% cream",
    "Amoxicillin 250mg/5ml oral suspension",
    "Café au lait spots",
    "naïve",
    "Naïve T-cell",
    "Ménière's disease",
    "Sjögren syndrome",
    "Crohn's disease (regional enteritis)",
    "hepatitis",
    "gastroenteritis",
    "osteoarthritis of knee",
    "nephritis",
    "cardiomyopathy",
    "hypertension",
    "hypertensive heart disease",
    "hemorrhage",
    "haemorrhage",
    "colectomy",
    "appendectomy",
    "pneumonia, unspecified",
    "Fracture of left arm [closed]",
    "pain in right knee -- chronic",
    "E11.9",
    "I21.0 ST elevation",
    "x" * 101,
    "a" * 100,
    "supercalifragilisticexpialidocious",
    "qqq zzz",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\nhere",
    "multiple     spaces",
    "",
    "   ",
    "!!!",
    "a.b.c",
    "dose=5mg; route:oral",
    "100%",
    "1/2 tablet",
    "$5 @home #1",
    "中国 cancer",
    "lung中cancer",
    "ÀÉÎÕÜ",
    "Ångström",
    "İstanbul",
    "ﬁbrosis",
    "zero\u200bwidth",
    "soft\u00adhyphen",
    "ctrl\u0007char",
    "em\u2014dash and \u201cquotes\u201d",
    "non\u00a0breaking",
    "x\U0002B820y",
    "acute chronic disease disorder syndrome infection fever pain injury fracture left right upper lower limb arm leg knee hip head neck chest abdomen back heart",
    "Tumour of the lung, malignant neoplasm (primary) and secondary carcinoma",
]


def main():
    full = BertWordPieceTokenizer("vocab.txt", lowercase=True)
    short = BertWordPieceTokenizer("vocab.txt", lowercase=True)
    short.enable_truncation(max_length=25)
    cases = []
    for text in TEXTS:
        enc = full.encode(text)
        cases.append({
            "text": text,
            "tokens": enc.tokens,
            "ids": enc.ids,
            "ids_max25": short.encode(text).ids,
        })
    with open("wordpiece_golden.json", "w", encoding="utf-8") as f:
        json.dump({"vocab": "vocab.txt", "max_length": 25, "cases": cases},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
