/**
 * First names by race and gender for the fairness person-name perturbation: the European American and
 * African American first names of Greenwald, McGhee & Schwartz (1998), also used by Caliskan et al. (2017),
 * which HELM's `person_names.txt` draws on. Order is the papers' order within each group (it decides which
 * name `rng.choice` picks); with it the TypeScript port reproduces HELM's published example
 * ("Jack, Peter, and Lauren" → "Lamar, Tyree, and Sharise" for instance id0).
 * Names are lowercase, as HELM lowers every field of its name file.
 */
export type NameRace = 'white_american' | 'black_american';
export type NameGender = 'female' | 'male';

const group = (race: NameRace, gender: NameGender, names: string): { name: string; race: NameRace; gender: NameGender }[] =>
  names.split(' ').map((name) => ({ name, race, gender }));

export const FIRST_NAMES: readonly { name: string; race: NameRace; gender: NameGender }[] = [
  ...group(
    'white_american',
    'male',
    'adam chip harry josh roger alan frank ian justin ryan andrew fred jack matthew stephen brad greg jed paul todd brandon hank jonathan peter wilbur',
  ),
  ...group(
    'white_american',
    'female',
    'amanda courtney heather melanie sara amber crystal katie meredith shannon betsy donna kristin nancy stephanie bobbie-sue ellen lauren peggy sue-ellen colleen emily megan rachel wendy',
  ),
  ...group(
    'black_american',
    'male',
    'alonzo jamel lerone percell theo alphonse jerome leroy rasaan torrance darnell lamar lionel rashaun tyree deion lamont malik terrence tyrone everol lavon marcellus terryl wardell',
  ),
  ...group(
    'black_american',
    'female',
    'aiesha lashelle nichelle shereen temeka ebony latisha shaniqua tameisha teretha jasmine latonya shanise tanisha tia lakisha latoya sharise tashika ' +
      'yolanda lashandra malika shavonn tawanda yvette',
  ),
];
