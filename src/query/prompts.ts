/**
 * Generic everyday captions, embedded with the collection's model to calibrate text → image
 * relevance when a collection holds too few texts to sample text queries from (most photo
 * collections hold none). Written for clipdb; they describe no particular data set.
 */
export const CALIBRATION_PROMPTS: string[] = [
  "a photo of a dog", "a cat sleeping on a sofa", "a group of people at a party", "a city street at night",
  "a plate of food on a table", "a car parked by the road", "a child playing in a park", "a mountain landscape with snow",
  "a beach with waves and sand", "a bird sitting on a branch", "a man riding a bicycle", "a woman smiling at the camera",
  "a bowl of fruit", "a train at a station", "an airplane in the sky", "a boat on a lake",
  "a living room with furniture", "a kitchen with a stove", "flowers in a garden", "a forest path in autumn",
  "a horse in a field", "people walking in the rain", "a birthday cake with candles", "a computer on a desk",
  "a football match in a stadium", "a bus on a busy street", "a close-up of a face", "a sunset over the sea",
  "a bridge over a river", "a crowd at a concert", "a baby in a crib", "a person skiing down a slope",
  "a pizza with cheese", "a cup of coffee", "a building with many windows", "a map and a compass",
  "a screenshot of a document", "a drawing of a house", "two friends hugging", "a street market with stalls",
  "an old black and white photo", "a dog catching a frisbee", "a man in a suit", "a red sports car",
  "a tennis player hitting a ball", "a snowy street in winter", "a wedding ceremony", "a table set for dinner",
  "a cow on a farm", "a shelf full of books", "a person swimming in a pool", "a motorcycle on a road",
  "a clock on a wall", "a sandwich on a plate", "a skateboarder doing a trick", "an empty room",
  "a family at the beach", "a dark night sky with stars", "a fish in an aquarium", "a glass of wine",
  "a laptop and a phone", "a teddy bear", "a fire in a fireplace", "a traffic light at a crossing",
];
