"""Accuracy of logits against labels."""

import paddle


def accuracy_logits(logits, labels):
    """Fraction of correct predictions.

    - binary (``logits`` of shape [N, 1]): class 1 where the logit is > 0;
    - multi-class (shape [N, C]): the arg-max class.

    ``labels`` has shape [N, 1]. Returns a 0-d float32 tensor.
    """
    if logits.shape[1] == 1:
        preds = paddle.cast(logits > 0, dtype="float32")
        labels = paddle.cast(labels, dtype="float32")
    else:
        preds = paddle.argmax(logits, axis=1, keepdim=True).astype("int64")
        labels = paddle.cast(labels, dtype="int64")
    return paddle.mean(paddle.cast(paddle.equal(preds, labels), dtype="float32"))
