"""The data layer: the files the suite knows, their checksums, CIFAR-10 and the ground truths."""
